//! An independent DKIM verifier for the tests: Debian's dkimpy (python3-dkim), fed the
//! TXT record that `reseal keys dkim-record` prints instead of DNS.

use std::path::Path;
use std::process::Command;

/// dkimpy verifies the topmost DKIM-Signature of argv[1]; the key record comes from the
/// zone-file line in argv[2] (its quoted strings joined, RFC 6376 §3.6.2.2), served only
/// for the owner name that line gives. Prints PASS or FAIL and dkimpy's log.
const VERIFY: &str = r#"
import logging, re, sys, io, dkim
msg = open(sys.argv[1], 'rb').read()
line = open(sys.argv[2]).read().strip()
owner = line.split()[0]
txt = ''.join(re.findall(r'"([^"]*)"', line)).encode()
asked = []
def dnsfunc(name, timeout=5):
    n = name.decode() if isinstance(name, bytes) else name
    asked.append(n)
    return txt if n.rstrip('.') == owner.rstrip('.') else None
log = io.StringIO()
logger = logging.getLogger('dkim')
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.DEBUG)
ok = dkim.verify(msg, logger=logger, dnsfunc=dnsfunc)
print('PASS' if ok else 'FAIL')
print('asked', asked)
print(log.getvalue())
"#;

/// Debian's python3, where python3-dkim is installed (a pyenv python3 may come first on
/// PATH).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Whether dkimpy accepts the topmost signature of `msg` under the record `record`.
pub fn dkimpy_verifies(dir: &Path, msg: &[u8], record: &str) -> (bool, String) {
    let m = dir.join("verify-msg.eml");
    let r = dir.join("verify-record.txt");
    std::fs::write(&m, msg).unwrap();
    std::fs::write(&r, record).unwrap();
    let out = Command::new(python())
        .args(["-c", VERIFY])
        .arg(&m)
        .arg(&r)
        .output()
        .expect("python3 with python3-dkim (scripts/setup.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "dkimpy did not run:\n{text}");
    (text.starts_with("PASS"), text)
}

/// The value of the topmost DKIM-Signature field, unfolded; `None` without one.
pub fn dkim_signature(msg: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(msg);
    let header = text.split("\r\n\r\n").next().unwrap();
    let unfolded = header.replace("\r\n\t", " ").replace("\r\n ", " ");
    unfolded
        .lines()
        .find_map(|l| l.strip_prefix("DKIM-Signature:"))
        .map(str::to_owned)
}

pub fn tag<'a>(sig: &'a str, name: &str) -> &'a str {
    sig.split(';')
        .map(str::trim)
        .find_map(|t| t.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in {sig}"))
}
