/// A `userlist` section: users and their passwords, for `http-request auth` and
/// `http_auth(userlist)`.
public struct Userlist: Sendable, Hashable {
    public enum Password: Sendable, Hashable {
        /// `insecure-password`.
        case plain(String)
        /// `password HASH`: a crypt(3) hash.
        case crypt(String)
    }

    public var name: String
    public var users: [String: Password]
    /// Group name to its members.
    public var groups: [String: Set<String>] = [:]

    public init(name: String, users: [String: Password]) {
        self.name = name
        self.users = users
    }

    /// Whether the request's `Authorization: Basic` credentials name a user of this list
    /// with the right password.
    public func authorizes(_ subject: any RuleSubject) -> Bool { authenticatedUser(subject) != nil }

    /// The user whose credentials the request carries, when they are right.
    public func authenticatedUser(_ subject: any RuleSubject) -> String? {
        guard let header = HeaderFetch.first(subject, .request, name: "authorization") else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ASCIIText.equalsIgnoringCase(String(parts[0]), "basic"),
              let decoded = Base64.decode(Array(ASCIIText.trimmed(parts[1]).utf8)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        switch users[user] {
        case .plain(let expected): return expected == password ? user : nil
        case .crypt(let hash): return CryptPassword.verify(password, hash: hash) ? user : nil
        case nil: return nil
        }
    }
}
