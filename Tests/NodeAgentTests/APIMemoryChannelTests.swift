import ClusterCore
import Foundation
import Testing
@testable import NodeAgent

@Suite("API: memory and channels")
struct APIMemoryChannelTests {
    @Test func memoryRoundTrip() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let put = try await call(node, "PUT", "/v1/memory/shared/greeting", json: ["value": ["text": "hi"]])
            #expect(put.status == 200)
            #expect(put.value["key"]?.stringValue == "greeting")
            #expect(put.value["value"]?["text"]?.stringValue == "hi")
            #expect(put.value["expiresAt"] == .null)
            let got = try await call(node, "GET", "/v1/memory/shared/greeting")
            #expect(got.value["value"]?["text"]?.stringValue == "hi")
            _ = try await call(node, "PUT", "/v1/memory/shared/gone-soon", json: ["value": 1, "ttlMs": 60_000])
            let listed = try await call(node, "GET", "/v1/memory/shared?prefix=g")
            #expect(listed.value["namespace"]?.stringValue == "shared")
            let keys = listed.value["entries"]?.arrayValue?.compactMap { $0["key"]?.stringValue }
            #expect(keys == ["gone-soon", "greeting"])
            #expect(listed.value["entries"]?[0]?["expiresAt"]?.stringValue != nil)

            let incr = try await call(node, "POST", "/v1/memory/shared/hits/increment", json: ["by": 2.5])
            #expect(incr.value["value"]?.doubleValue == 2.5)
            let incrDefault = try await call(node, "POST", "/v1/memory/shared/hits/increment")
            #expect(incrDefault.value["value"]?.doubleValue == 3.5)
            let notNumber = try await call(node, "POST", "/v1/memory/shared/greeting/increment")
            #expect(notNumber.status == 409)
            #expect(notNumber.errorCode == "not_a_number")
            let badBy = try await call(node, "POST", "/v1/memory/shared/hits/increment", json: ["by": "x"])
            #expect(badBy.errorField == "by")

            let deleted = try await call(node, "DELETE", "/v1/memory/shared/greeting")
            #expect(deleted.value["deleted"]?.boolValue == true)
            let deletedAgain = try await call(node, "DELETE", "/v1/memory/shared/greeting")
            #expect(deletedAgain.value["deleted"]?.boolValue == false)
            let missing = try await call(node, "GET", "/v1/memory/shared/greeting")
            #expect(missing.status == 404)
            #expect(missing.errorCode == "key_not_found")

            let reserved = try await call(node, "PUT", "/v1/memory/shared/__secret", json: ["value": 1])
            #expect(reserved.status == 400)
            #expect(reserved.errorCode == "reserved_key")
            // A key with "/" travels as %2F, which the server decodes before routing.
            let slashed = try await call(node, "PUT", "/v1/memory/shared/users%2F42", json: ["value": "ada"])
            #expect(slashed.status == 200)
            #expect(slashed.value["key"]?.stringValue == "users/42")
            let slashedGet = try await call(node, "GET", "/v1/memory/shared/users%2F42")
            #expect(slashedGet.value["value"]?.stringValue == "ada")
            let slashedIncr = try await call(node, "POST", "/v1/memory/shared/hits%2Ftoday/increment", json: ["by": 2])
            #expect(slashedIncr.value["key"]?.stringValue == "hits/today")
            #expect(slashedIncr.value["value"]?.doubleValue == 2)
            let slashedDelete = try await call(node, "DELETE", "/v1/memory/shared/users%2F42")
            #expect(slashedDelete.value["deleted"]?.boolValue == true)
            let noValue = try await call(node, "PUT", "/v1/memory/shared/k", json: ["ttlMs": 10])
            #expect(noValue.status == 400)
            #expect(noValue.errorField == "value")
        }
    }

    @Test func channelsCreatePublishAndHistory() async throws {
        try await withNode(try nodeConfig(dir: makeNodeTempDir())) { node in
            let list = try await call(node, "GET", "/v1/channels")
            let names = list.value["channels"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(names.contains("updates") && names.contains("typed"))

            let created = try await call(node, "POST", "/v1/channels", json: ["name": "news", "type": "pubsub", "historyLimit": 5])
            #expect(created.status == 201)
            #expect(created.value["historyLimit"]?.intValue == 5)
            let conflict = try await call(node, "POST", "/v1/channels", json: ["name": "news", "type": "queue"])
            #expect(conflict.status == 409)
            #expect(conflict.errorCode == "already_exists")
            let badType = try await call(node, "POST", "/v1/channels", json: ["name": "x", "type": "broadcast"])
            #expect(badType.status == 400)
            #expect(badType.errorField == "type")
            let badName = try await call(node, "POST", "/v1/channels", json: ["name": "__mine"])
            #expect(badName.status == 400)
            #expect(badName.errorField == "name")

            for i in 0..<7 {
                let published = try await call(node, "POST", "/v1/channels/news/messages", json: ["payload": ["i": .number(Double(i))]])
                #expect(published.status == 202)
                #expect(published.value["channel"]?.stringValue == "news")
            }
            let history = try await call(node, "GET", "/v1/channels/news/history?limit=3")
            let items = history.value["messages"]?.arrayValue?.compactMap { $0["payload"]?["i"]?.intValue }
            #expect(items == [4, 5, 6])
            let badLimit = try await call(node, "GET", "/v1/channels/news/history?limit=lots")
            #expect(badLimit.errorField == "limit")

            let schema = try await call(node, "POST", "/v1/channels/typed/messages", json: ["payload": ["n": "one"]])
            #expect(schema.status == 422)
            #expect(schema.errorCode == "schema_violation")
            let fits = try await call(node, "POST", "/v1/channels/typed/messages", json: ["payload": ["n": 1]])
            #expect(fits.status == 202)
            let nowhere = try await call(node, "POST", "/v1/channels/nowhere/messages", json: ["payload": 1])
            #expect(nowhere.status == 404)
            #expect(nowhere.errorCode == "channel_not_found")
            let noHistory = try await call(node, "GET", "/v1/channels/nowhere/history")
            #expect(noHistory.errorCode == "channel_not_found")
            let dead = try await call(node, "GET", "/v1/deadletters")
            #expect(dead.value["deadLetters"]?.arrayValue != nil)
        }
    }
}
