import Foundation

/// C strings that must stay valid for the duration of one libnats call that reads a config
/// struct; freed together when the bag is released.
final class CStrings {
    private var owned: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafePointer<CChar>?>] = []

    /// A copy of `s`, or nil for nil.
    func add(_ s: String?) -> UnsafePointer<CChar>? {
        guard let s, let p = strdup(s) else { return nil }
        owned.append(p)
        return UnsafePointer(p)
    }

    /// A `const char **` array of copies.
    func array(_ strings: [String]) -> UnsafeMutablePointer<UnsafePointer<CChar>?> {
        let a = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: max(1, strings.count))
        for (i, s) in strings.enumerated() { a[i] = add(s) }
        arrays.append(a)
        return a
    }

    deinit {
        for p in owned { free(p) }
        for a in arrays { a.deallocate() }
    }
}
