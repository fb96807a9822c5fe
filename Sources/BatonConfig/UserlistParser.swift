import BatonCore
import BatonRules

/// The lines of a `userlist` section: `user NAME [password HASH | insecure-password PASS]
/// [groups G,...]` and `group NAME [users U,...]`.
enum UserlistParser {
    static func parse(_ words: [String], into list: inout Userlist, at location: SourceLocation,
                      diagnostics: inout [Diagnostic]) {
        switch words[0] {
        case "user":
            guard words.count >= 2 else {
                diagnostics.append(.alert("'user' expects <name> as argument.", at: location))
                return
            }
            let name = words[1]
            if list.users[name] != nil {
                diagnostics.append(.alert("'user' '\(name)' is already defined in userlist '\(list.name)'.", at: location))
                return
            }
            var password = Userlist.Password.plain("")
            var groups: [String] = []
            var index = 2
            while index < words.count {
                let word = words[index]
                guard index + 1 < words.count else {
                    diagnostics.append(.alert("'\(word)' expects an argument.", at: location))
                    return
                }
                let value = words[index + 1]
                switch word {
                case "password":
                    if !CryptPassword.isSupported(value) {
                        diagnostics.append(.warning("userlist '\(list.name)': the encrypted password used for user "
                                                    + "'\(name)' is not supported by crypt(3).", at: location))
                    }
                    password = .crypt(value)
                case "insecure-password":
                    password = .plain(value)
                case "groups":
                    groups += value.split(separator: ",").map(String.init)
                default:
                    diagnostics.append(.alert("'user' only supports 'password', 'insecure-password' and 'groups' "
                                              + "(got '\(word)').", at: location))
                    return
                }
                index += 2
            }
            list.users[name] = password
            for group in groups { list.groups[group, default: []].insert(name) }
        case "group":
            guard words.count >= 2 else {
                diagnostics.append(.alert("'group' expects <name> as argument.", at: location))
                return
            }
            var members = list.groups[words[1], default: []]
            var index = 2
            while index < words.count {
                guard words[index] == "users", index + 1 < words.count else {
                    diagnostics.append(.alert("'group' only supports 'users' (got '\(words[index])').", at: location))
                    return
                }
                for user in words[index + 1].split(separator: ",") { members.insert(String(user)) }
                index += 2
            }
            list.groups[words[1]] = members
        default:
            let hint = Parse.suggestion(for: words[0], among: ["user", "group"])
            diagnostics.append(.alert("unknown keyword '\(words[0])' in 'userlist' section\(hint)", at: location))
        }
    }
}
