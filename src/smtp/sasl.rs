//! SASL for SMTP AUTH (RFC 4954) at the gateway: the PLAIN (RFC 4616) and LOGIN
//! mechanisms' responses, decoded into credentials held in zeroizing buffers. The
//! dialog (334 prompts, TLS required, failure counting) stays with the session; checking
//! a password is the submission policy's (`submission::check_password`).

use base64::Engine as _;
use zeroize::Zeroizing;

/// The LOGIN mechanism's prompts, "Username:" and "Password:" in base64.
pub const LOGIN_USERNAME: &str = "VXNlcm5hbWU6";
pub const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// A user name and password a client sent.
pub struct Credentials {
    pub user: String,
    pub password: Zeroizing<String>,
}

/// One client response (RFC 4954 §4): base64, or `*` to cancel (then `None`, as for
/// anything that does not decode).
pub fn response(line: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let t = line.trim_ascii();
    if t == b"*" {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .map(Zeroizing::new)
}

/// PLAIN (RFC 4616 §2): `[authzid] NUL authcid NUL passwd`, UTF-8. An authorization
/// identity is not supported: one that names someone else is refused.
pub fn plain(raw: &[u8]) -> Option<Credentials> {
    let mut parts = raw.split(|&b| b == 0);
    let authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    let password = Zeroizing::new(std::str::from_utf8(parts.next()?).ok()?.to_owned());
    if parts.next().is_some() || user.is_empty() {
        return None;
    }
    if !authzid.is_empty() && authzid != user.as_bytes() {
        return None;
    }
    Some(Credentials { user, password })
}

/// LOGIN: the user name and the password, each a response of its own, UTF-8.
pub fn login(user: &[u8], password: &[u8]) -> Option<Credentials> {
    Some(Credentials {
        user: std::str::from_utf8(user).ok()?.to_owned(),
        password: Zeroizing::new(std::str::from_utf8(password).ok()?.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_responses() {
        let c = plain(b"\0alice\0s3cret").unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("alice", "s3cret"));
        // authzid equal to the user is the same login; another identity is refused.
        assert!(plain(b"alice\0alice\0pw").is_some());
        assert!(plain(b"root\0alice\0pw").is_none());
        // Too few or too many fields, an empty user, bytes that are not UTF-8.
        for bad in [
            &b"alice\0pw"[..],
            b"\0alice\0pw\0x",
            b"\0\0pw",
            b"\0al\xffice\0pw",
        ] {
            assert!(plain(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn responses_decode_or_cancel() {
        assert_eq!(
            response(b"AGFsaWNlAHB3\r\n").unwrap().as_slice(),
            b"\0alice\0pw"
        );
        assert!(response(b"*").is_none());
        assert!(response(b"not base64!").is_none());
        assert_eq!(
            response(LOGIN_USERNAME.as_bytes()).unwrap().as_slice(),
            b"Username:"
        );
        assert_eq!(
            response(LOGIN_PASSWORD.as_bytes()).unwrap().as_slice(),
            b"Password:"
        );
    }
}
