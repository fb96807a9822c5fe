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

    public init(name: String, users: [String: Password]) {
        self.name = name
        self.users = users
    }

    /// Whether the request's `Authorization: Basic` credentials name a user of this list
    /// with the right password.
    public func authorizes(_ subject: any RuleSubject) -> Bool {
        guard let header = HeaderFetch.first(subject, .request, name: "authorization") else { return false }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ASCIIText.equalsIgnoringCase(String(parts[0]), "basic"),
              let decoded = Base64.decode(Array(ASCIIText.trimmed(parts[1]).utf8)),
              let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return false }
        let user = String(decoding: decoded[..<colon], as: UTF8.self)
        let password = String(decoding: decoded[(colon + 1)...], as: UTF8.self)
        switch users[user] {
        case .plain(let expected): return expected == password
        case .crypt(let hash): return CryptPassword.verify(password, hash: hash)
        case nil: return false
        }
    }
}
