import CCrypt

/// crypt(3) password checks, as HAProxy's userlists use them (`password $6$...`).
public enum CryptPassword {
    static func verify(_ password: String, hash: String) -> Bool {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        data.initialize(to: crypt_data())
        guard let result = crypt_r(password, hash, data) else { return false }
        let computed = String(cString: result)
        return !computed.hasPrefix("*") && computed == hash
    }

    /// Whether libcrypt understands the hash (a bad hash fails the configuration check).
    public static func isSupported(_ hash: String) -> Bool {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        data.initialize(to: crypt_data())
        guard let result = crypt_r("", hash, data) else { return false }
        return !String(cString: result).hasPrefix("*")
    }
}
