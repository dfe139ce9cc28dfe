//! Fair admission of connections: one client must not lock out everyone.
//!
//! - at most `max_connections` sessions in all, of which `reserved_connections` are
//!   kept for addresses that hold no session yet: a client that already holds sessions
//!   can never take the last free slots;
//! - at most `max_connections_per_client` sessions per client address (Postfix's
//!   `smtpd_client_connection_count_limit`);
//! - at most `max_new_sessions_per_minute` new sessions per client address (Postfix's
//!   `smtpd_client_connection_rate_limit`); the MTA in front (`mta_networks`) is exempt;
//! - "stress" when 80 % of the sessions are taken: idle sessions outside a mail
//!   transaction then get `stress_timeout` instead of `read_timeout` (Postfix's
//!   `smtpd_timeout = ${stress?10}${stress:300}`).
//!
//! A refused connection gets `421` and is closed (RFC 5321 §3.8).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::config::SmtpConfig;

/// Why a connection was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every slot is taken (or only reserved ones are left).
    Busy,
    /// This address holds its share of sessions.
    PerClient,
    /// This address opened too many sessions in the last minute.
    Rate,
}

impl Refusal {
    /// The 421 reply (RFC 5321 §3.8, RFC 3463 4.7.0 / 4.3.2).
    pub fn reply(self) -> &'static str {
        match self {
            Refusal::Busy => "421 4.3.2 Too many connections, try again later\r\n",
            Refusal::PerClient => {
                "421 4.7.0 Too many connections from your address, try again later\r\n"
            }
            Refusal::Rate => "421 4.7.0 Too many new connections from your address, slow down\r\n",
        }
    }
}

#[derive(Default)]
struct State {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
    /// Start of the current one-minute window and the sessions opened in it.
    rate: HashMap<IpAddr, (Instant, u32)>,
}

/// The connection table of one listener.
pub struct Fairness {
    state: Mutex<State>,
    max_total: usize,
    per_client: usize,
    reserved: usize,
    rate: u32,
    exempt: Vec<ipnet::IpNet>,
    stress: watch::Sender<bool>,
}

/// A held session slot; dropping it frees the slot.
pub struct Slot {
    table: Arc<Fairness>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.table.release(self.ip);
    }
}

const WINDOW: Duration = Duration::from_secs(60);

impl Fairness {
    pub fn new(cfg: &SmtpConfig) -> Arc<Fairness> {
        Arc::new(Fairness {
            state: Mutex::new(State::default()),
            max_total: cfg.max_connections,
            per_client: cfg.max_connections_per_client,
            reserved: cfg.reserved_connections,
            rate: cfg.max_new_sessions_per_minute,
            exempt: cfg.mta_networks.clone(),
            stress: watch::Sender::new(false),
        })
    }

    /// Whether the server is under stress; changes are signalled to subscribers.
    pub fn stress(&self) -> watch::Receiver<bool> {
        self.stress.subscribe()
    }

    fn stressed(&self, total: usize) -> bool {
        total.saturating_mul(5) >= self.max_total.saturating_mul(4)
    }

    /// Takes a slot for a new session from `ip`, or says why not.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refusal> {
        let ip = crate::submission::canonical_ip(ip);
        let now = Instant::now();
        let total = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let holds = st.per_client.get(&ip).copied().unwrap_or(0);
            // Addresses that hold a session may not take the reserved slots.
            let limit = if holds == 0 {
                self.max_total
            } else {
                self.max_total.saturating_sub(self.reserved)
            };
            if st.total >= limit {
                return Err(Refusal::Busy);
            }
            if holds >= self.per_client {
                return Err(Refusal::PerClient);
            }
            if self.rate > 0 && !self.exempt.iter().any(|n| n.contains(&ip)) {
                // Forget windows that ended, so the map stays as small as the set of
                // recently seen addresses.
                if st.rate.len() > 4096 {
                    st.rate.retain(|_, (t, _)| now.duration_since(*t) < WINDOW);
                }
                let entry = st.rate.entry(ip).or_insert((now, 0));
                if now.duration_since(entry.0) >= WINDOW {
                    *entry = (now, 0);
                }
                if entry.1 >= self.rate {
                    return Err(Refusal::Rate);
                }
                entry.1 += 1;
            }
            st.total += 1;
            *st.per_client.entry(ip).or_insert(0) += 1;
            st.total
        };
        self.stress.send_if_modified(|s| {
            let new = self.stressed(total);
            std::mem::replace(s, new) != new
        });
        Ok(Slot {
            table: self.clone(),
            ip,
        })
    }

    fn release(&self, ip: IpAddr) {
        let total = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.total = st.total.saturating_sub(1);
            if let Some(n) = st.per_client.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.per_client.remove(&ip);
                }
            }
            st.total
        };
        self.stress.send_if_modified(|s| {
            let new = self.stressed(total);
            std::mem::replace(s, new) != new
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(extra: &str) -> Arc<Fairness> {
        let c = crate::Config::parse(&format!("hostname = \"gw\"\n[smtp]\n{extra}"), None).unwrap();
        Fairness::new(&c.smtp)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_client_cannot_take_every_slot() {
        let t = table(
            "max_connections = 10\nmax_connections_per_client = 10\nreserved_connections = 2\nmax_new_sessions_per_minute = 0",
        );
        let mut held: Vec<Slot> = Vec::new();
        for _ in 0..8 {
            held.push(t.admit(ip("127.0.0.1")).unwrap());
        }
        // The reserve is not for a client that holds sessions...
        assert_eq!(t.admit(ip("127.0.0.1")).err(), Some(Refusal::Busy));
        // ...but for new addresses.
        let a = t.admit(ip("127.0.0.2")).unwrap();
        let _b = t.admit(ip("127.0.0.3")).unwrap();
        assert_eq!(t.admit(ip("127.0.0.4")).err(), Some(Refusal::Busy));
        drop(a);
        assert!(t.admit(ip("127.0.0.4")).is_ok());
    }

    #[test]
    fn per_client_limit_and_release() {
        let t = table("max_connections_per_client = 2\nmax_new_sessions_per_minute = 0");
        let a = t.admit(ip("192.0.2.1")).unwrap();
        let _b = t.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(t.admit(ip("192.0.2.1")).err(), Some(Refusal::PerClient));
        assert!(t.admit(ip("192.0.2.2")).is_ok());
        drop(a);
        assert!(t.admit(ip("192.0.2.1")).is_ok());
    }

    #[test]
    fn rate_limit_spares_the_mta() {
        let t = table("max_new_sessions_per_minute = 3\nmta_networks = [\"127.0.0.1\"]");
        for _ in 0..3 {
            drop(t.admit(ip("192.0.2.1")).unwrap());
        }
        assert_eq!(t.admit(ip("192.0.2.1")).err(), Some(Refusal::Rate));
        for _ in 0..10 {
            drop(t.admit(ip("127.0.0.1")).unwrap());
        }
    }

    #[test]
    fn stress_is_signalled() {
        let t = table(
            "max_connections = 5\nmax_connections_per_client = 5\nreserved_connections = 0\nmax_new_sessions_per_minute = 0",
        );
        let rx = t.stress();
        let held: Vec<Slot> = (0..4).map(|_| t.admit(ip("192.0.2.1")).unwrap()).collect();
        assert!(*rx.borrow());
        drop(held);
        assert!(!*rx.borrow());
    }
}
