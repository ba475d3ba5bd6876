#if canImport(Glibc)
import Glibc
#endif

/// glibc functions behind _GNU_SOURCE, which the Glibc module does not expose; looked up by name.
enum GNUExtensions {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32

    /// `pipe2(fds, flags)`; -1 with errno ENOSYS when the symbol is missing.
    static func pipe2(_ fds: UnsafeMutablePointer<Int32>, _ flags: Int32) -> Int32 {
        guard let f: Pipe2 = symbol("pipe2") else { return missing() }
        return f(fds, flags)
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+); returns an errno.
    static func addClosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32 {
        guard let f: AddClosefrom = symbol("posix_spawn_file_actions_addclosefrom_np") else { return ENOSYS }
        return f(actions, from)
    }

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+); returns an errno.
    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) -> Int32 {
        guard let f: AddChdir = symbol("posix_spawn_file_actions_addchdir_np") else { return ENOSYS }
        return path.withCString { f(actions, $0) }
    }

    private static func missing() -> Int32 {
        errno = ENOSYS
        return -1
    }

    private static func symbol<T>(_ name: String) -> T? {
        guard let raw = dlsym(nil, name) else { return nil }
        return unsafeBitCast(raw, to: T.self)
    }
}
