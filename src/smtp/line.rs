//! Bounded SMTP line reading: commands and DATA (RFC 5321 §2.3.8, §4.1.1.4, §4.5.2).
//!
//! What it must never do (the SMTP smuggling attacks, SEC Consult 2023):
//! - end DATA on anything but `<CRLF>.<CRLF>`: `\n.\n`, `\n.\r\n`, `\r\n.\n`, `\r.\r`
//!   are content or errors, never the end, so nothing a client puts after them can run
//!   as commands of a second transaction;
//! - accept a bare CR or a bare LF in DATA: RFC 5321 §2.3.8 forbids them and MTAs
//!   disagree on what they mean. The gateway refuses them (as Postfix does with
//!   `smtpd_forbid_bare_newline = yes`) and closes the connection, since the client's
//!   idea of where the message ended is then not ours. There is no normalising mode: a
//!   Postfix in front always sends CRLF, and normalising is what made smuggling work;
//! - cut a line: a line longer than the limit is refused whole (500 5.5.6 for a command,
//!   552 5.3.4 for DATA once the message has ended), never split or truncated.

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// One command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    /// The line without its CRLF.
    Line(Vec<u8>),
    /// Longer than the limit; everything up to its end was consumed.
    TooLong,
    /// Ended by a bare LF, or held a bare CR.
    BareNewline,
    /// The peer closed the connection (or it failed).
    Closed,
}

/// Reads one command line of at most `max` bytes (without CRLF). An over-long line is
/// consumed to its end and reported, so the next read starts at the next command.
pub async fn read_command<R: AsyncBufRead + Unpin>(r: &mut R, max: usize) -> Command {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let buf = match r.fill_buf().await {
            Ok(b) if !b.is_empty() => b,
            _ => return Command::Closed,
        };
        let (take, done) = match memchr::memchr(b'\n', buf) {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        if !too_long {
            if line.len() + take > max + 2 {
                too_long = true;
                line = Vec::new();
            } else {
                line.extend_from_slice(buf.get(..take).unwrap_or_default());
            }
        }
        r.consume(take);
        if done {
            if too_long {
                return Command::TooLong;
            }
            line.pop(); // the LF
            if line.pop() != Some(b'\r') || line.contains(&b'\r') {
                return Command::BareNewline;
            }
            return Command::Line(line);
        }
    }
}

/// What [`Data::feed`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// More input is needed.
    More,
    /// `<CRLF>.<CRLF>` was seen; the bytes after it belong to the next command.
    End,
    /// A bare CR or LF: the message is refused and the connection closed.
    BareNewline,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a line (after CRLF, or at the start of DATA).
    LineStart,
    /// A line that started with `.`: the dot is held back.
    Dot,
    /// `.` then CR at the start of a line.
    DotCr,
    /// Inside a line.
    Mid,
    /// CR inside a line.
    Cr,
}

/// The DATA decoder: dot-unstuffing (RFC 5321 §4.5.2), the end of data, bare CR/LF
/// detection, and the line and size limits, as a state machine over the bytes in the
/// order they arrive (chunk boundaries do not matter).
#[derive(Debug)]
pub struct Data {
    state: State,
    line_len: usize,
    max_line: usize,
    max_size: usize,
    size: usize,
    /// A line longer than `max_line` was seen.
    pub line_too_long: bool,
    /// The message is larger than `max_size`.
    pub too_big: bool,
}

impl Data {
    pub fn new(max_line: usize, max_size: usize) -> Data {
        Data {
            state: State::LineStart,
            line_len: 0,
            max_line,
            max_size,
            size: 0,
            line_too_long: false,
            too_big: false,
        }
    }

    /// Whether the content is to be refused (it is still read to its end).
    pub fn refused(&self) -> bool {
        self.line_too_long || self.too_big
    }

    /// The content size so far (CRLF included, dots unstuffed).
    pub fn size(&self) -> usize {
        self.size
    }

    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        self.size = self.size.saturating_add(bytes.len());
        if self.size > self.max_size {
            self.too_big = true;
        }
        if !self.refused() {
            out.extend_from_slice(bytes);
        }
    }

    fn grow_line(&mut self, n: usize) {
        self.line_len = self.line_len.saturating_add(n);
        if self.line_len > self.max_line {
            self.line_too_long = true;
        }
    }

    /// Decodes `input`, appending message content to `out` (nothing once the message is
    /// refused). Returns how many bytes were used and what was found; after `End` or
    /// `BareNewline` the rest of `input` is not part of the message.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, Event) {
        let mut i = 0;
        while let Some(&b) = input.get(i) {
            match self.state {
                State::Mid => {
                    // Copy the run up to the next CR or LF in one go.
                    let rest = input.get(i..).unwrap_or_default();
                    let run = memchr::memchr2(b'\r', b'\n', rest).unwrap_or(rest.len());
                    if run > 0 {
                        self.grow_line(run);
                        self.emit(out, rest.get(..run).unwrap_or_default());
                        i += run;
                        continue;
                    }
                    i += 1;
                    if b == b'\r' {
                        self.state = State::Cr;
                    } else {
                        return (i, Event::BareNewline);
                    }
                }
                State::LineStart => {
                    i += 1;
                    match b {
                        b'.' => self.state = State::Dot,
                        b'\r' => self.state = State::Cr,
                        b'\n' => return (i, Event::BareNewline),
                        _ => {
                            self.grow_line(1);
                            self.emit(out, &[b]);
                            self.state = State::Mid;
                        }
                    }
                }
                State::Dot => {
                    i += 1;
                    match b {
                        b'\r' => self.state = State::DotCr,
                        b'\n' => return (i, Event::BareNewline),
                        // RFC 5321 §4.5.2: the leading dot of a stuffed line is removed.
                        _ => {
                            self.grow_line(1);
                            self.emit(out, &[b]);
                            self.state = State::Mid;
                        }
                    }
                }
                State::DotCr => {
                    i += 1;
                    return if b == b'\n' {
                        (i, Event::End)
                    } else {
                        (i, Event::BareNewline)
                    };
                }
                State::Cr => {
                    i += 1;
                    if b != b'\n' {
                        return (i, Event::BareNewline);
                    }
                    self.emit(out, b"\r\n");
                    self.line_len = 0;
                    self.state = State::LineStart;
                }
            }
        }
        (i, Event::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` one byte at a time and in one piece; both must agree.
    fn decode(input: &[u8]) -> (Vec<u8>, Event, usize, bool) {
        let mut d = Data::new(1000, 1 << 20);
        let mut whole = Vec::new();
        let (used, ev) = d.feed(input, &mut whole);
        let mut d2 = Data::new(1000, 1 << 20);
        let mut bytewise = Vec::new();
        let mut used2 = 0;
        let mut ev2 = Event::More;
        for b in input {
            let (n, e) = d2.feed(std::slice::from_ref(b), &mut bytewise);
            used2 += n;
            if e != Event::More {
                ev2 = e;
                break;
            }
        }
        assert_eq!((&ev, used, d.refused()), (&ev2, used2, d2.refused()));
        // What a refused message left in `out` is discarded by the caller.
        if !d.refused() {
            assert_eq!(whole, bytewise);
        }
        (whole, ev, used, d.refused())
    }

    #[test]
    fn only_crlf_dot_crlf_ends_data() {
        let (m, e, used, _) = decode(b"Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\n");
        assert_eq!(e, Event::End);
        assert_eq!(m, b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(used, b"Subject: x\r\n\r\nbody\r\n.\r\n".len());
        // An empty message.
        assert_eq!(decode(b".\r\n").1, Event::End);
    }

    #[test]
    fn smuggling_variants_are_refused_not_ended() {
        // Each would end DATA on some MTA; here each is a bare CR or LF, refused before
        // anything after it is read as a command.
        for v in [
            &b"a\r\n\n.\nMAIL FROM:<alice@example.com>\r\n"[..],
            b"a\n.\r\nMAIL FROM:<alice@example.com>\r\n",
            b"a\r\n.\nMAIL FROM:<alice@example.com>\r\n",
            b"a\r.\rMAIL FROM:<alice@example.com>\r\n",
            b"a\r\n.\r.\r\n",
            b"a\r\n.\rx",
            b"a\nb\r\n",
            b"a\rb\r\n",
        ] {
            let (_, e, used, _) = decode(v);
            assert_eq!(e, Event::BareNewline, "{:?}", String::from_utf8_lossy(v));
            let rest = String::from_utf8_lossy(&v[used..]).into_owned();
            assert!(!rest.starts_with("\r\n.\r\n"), "{rest:?}");
        }
    }

    #[test]
    fn dot_unstuffing() {
        let (m, e, _, _) = decode(b"..leading\r\n...\r\n.x\r\n.\r\n");
        assert_eq!(e, Event::End);
        assert_eq!(m, b".leading\r\n..\r\nx\r\n");
    }

    #[test]
    fn long_line_is_refused_whole_and_data_read_to_its_end() {
        let mut msg = b"Subject: x\r\n\r\n".to_vec();
        msg.extend(std::iter::repeat_n(b'a', 1001));
        msg.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        let (m, e, used, refused) = decode(&msg);
        assert_eq!(e, Event::End);
        assert!(refused);
        assert_eq!(&msg[used..], b"QUIT\r\n");
        // The line is not cut to fit: the message is refused as a whole.
        assert!(m.len() <= msg.len());
        // 1000 bytes is within the limit.
        let mut ok = vec![b'a'; 1000];
        ok.extend_from_slice(b"\r\n.\r\n");
        assert!(!decode(&ok).3);
    }

    #[test]
    fn size_limit() {
        let mut d = Data::new(1000, 10);
        let mut out = Vec::new();
        let (_, e) = d.feed(b"0123456789\r\n.\r\n", &mut out);
        assert_eq!(e, Event::End);
        assert!(d.too_big);
        assert_eq!(d.size(), 12);
    }

    #[tokio::test]
    async fn commands_need_crlf_and_a_bound() {
        let input: &[u8] = b"EHLO x\r\nNOOP\nMAIL\rFROM:<a@b>\r\n";
        let mut r = tokio::io::BufReader::new(input);
        assert_eq!(
            read_command(&mut r, 100).await,
            Command::Line(b"EHLO x".to_vec())
        );
        assert_eq!(read_command(&mut r, 100).await, Command::BareNewline);
        assert_eq!(read_command(&mut r, 100).await, Command::BareNewline);
        assert_eq!(read_command(&mut r, 100).await, Command::Closed);
        let mut long = vec![b'X'; 10_000];
        long.extend_from_slice(b"\r\nQUIT\r\n");
        let mut r = tokio::io::BufReader::with_capacity(64, long.as_slice());
        assert_eq!(read_command(&mut r, 4096).await, Command::TooLong);
        assert_eq!(
            read_command(&mut r, 4096).await,
            Command::Line(b"QUIT".to_vec())
        );
    }
}
