import Testing
@testable import ClusterCore
