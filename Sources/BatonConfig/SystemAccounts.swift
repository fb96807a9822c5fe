#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Looks up users and groups of the system, for `bind ... user`/`group` (checked when the
/// configuration is loaded, as HAProxy does).
public enum SystemAccounts {
    public static func userExists(_ name: String) -> Bool { userID(name) != nil }
    public static func groupExists(_ name: String) -> Bool { groupID(name) != nil }

    /// The numeric id of a user name, or of a number as written.
    public static func userID(_ name: String) -> UInt32? {
        if let number = UInt32(name) { return number }
        guard let entry = getpwnam(name) else { return nil }
        return entry.pointee.pw_uid
    }

    public static func groupID(_ name: String) -> UInt32? {
        if let number = UInt32(name) { return number }
        guard let entry = getgrnam(name) else { return nil }
        return entry.pointee.gr_gid
    }
}
