//! The relay: delivers spooled messages to the next hop, retries temporary failures with
//! exponential backoff, and bounces (RFC 3464) what fails permanently or expires. A
//! message leaves the spool only once every recipient is delivered or bounced, so
//! delivery is at least once.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::client::{self, Transaction};
use super::dsn;
use super::spool::{Meta, Spool, SpoolRcpt};
use crate::config::RelayConfig;

fn now() -> u64 {
    reseal_keystore::now()
}

/// The relay's shared state.
pub struct Relay {
    pub spool: Arc<Spool>,
    pub cfg: RelayConfig,
    pub hostname: String,
    pub wake: Notify,
}

impl Relay {
    /// One delivery attempt for every entry that is due, stopping early when `cancel`
    /// fires (the attempt in progress is finished).
    pub async fn pass(&self, cancel: Option<&CancellationToken>) {
        let due: Vec<Meta> = self
            .spool
            .list()
            .into_iter()
            .filter(|m| m.next_attempt <= now())
            .collect();
        for meta in due {
            if cancel.is_some_and(CancellationToken::is_cancelled) {
                return;
            }
            self.attempt(meta).await;
        }
    }

    /// Runs until `cancel` fires, then returns after the delivery in progress.
    pub async fn run(self: Arc<Self>, cancel: CancellationToken) {
        loop {
            self.pass(Some(&cancel)).await;
            if cancel.is_cancelled() {
                return;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    fn backoff(&self, attempts: u32) -> u64 {
        let base = self.cfg.retry_base.as_secs();
        let factor = 1u64.checked_shl(attempts.min(20)).unwrap_or(u64::MAX);
        base.saturating_mul(factor)
            .min(self.cfg.retry_max.as_secs())
    }

    async fn attempt(&self, mut meta: Meta) {
        // Only the processed message is read here; the received one only for an NDR,
        // so a big message is held once while it is relayed.
        let out = match self.spool.load_out(&meta.id) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(id = %meta.id, "spool entry unreadable: {}", e.text);
                let _ = self.spool.bury(&meta.id);
                return;
            }
        };
        let pending: Vec<SpoolRcpt> = meta.rcpts.iter().filter(|r| !r.done).cloned().collect();
        if pending.is_empty() {
            let _ = self.spool.remove(&meta.id);
            return;
        }
        let tx = Transaction {
            mail_from: &meta.mail_from,
            rcpts: pending
                .iter()
                .map(|r| (r.address.as_str(), r.notify, r.orcpt.as_deref()))
                .collect(),
            data: &out,
            ret_full: meta.ret,
            envid: meta.envid.as_deref(),
            body_8bit: meta.body_8bit,
            smtputf8: meta.smtputf8,
            bypass: meta.bypass.as_deref(),
        };
        let result = client::send(&self.cfg.next_hop, &self.hostname, &tx, self.cfg.timeout).await;
        let mut failed: Vec<(String, String, bool)> = Vec::new(); // (addr, reply, permanent)
        let mut temp = false;
        let mut temp_reason = String::new();
        match result {
            Ok((rcpt_replies, data_reply)) => {
                let data_ok = data_reply.as_ref().is_some_and(client::Reply::is_positive);
                for (r, reply) in pending.iter().zip(rcpt_replies.iter()) {
                    let entry = meta
                        .rcpts
                        .iter_mut()
                        .find(|x| x.address == r.address && !x.done);
                    if reply.is_positive() {
                        match &data_reply {
                            Some(d) if d.is_positive() => {
                                if let Some(e) = entry {
                                    e.done = true;
                                }
                            }
                            Some(d) if d.is_permanent() => {
                                failed.push((r.address.clone(), d.text(), true))
                            }
                            Some(d) => {
                                temp = true;
                                temp_reason = d.text();
                            }
                            None => {}
                        }
                    } else if reply.is_permanent() {
                        failed.push((r.address.clone(), reply.text(), true));
                    } else {
                        temp = true;
                        temp_reason = reply.text();
                    }
                }
                if data_ok {
                    tracing::info!(id = %meta.id, next_hop = %self.cfg.next_hop, "delivered");
                }
            }
            Err(e) if e.is_permanent() => {
                for r in &pending {
                    failed.push((r.address.clone(), e.to_string(), true));
                }
            }
            Err(e) => {
                tracing::warn!(id = %meta.id, "delivery deferred: {e}");
                temp = true;
                temp_reason = e.to_string();
            }
        }
        // Expiry turns a temporary failure into a bounce.
        let expired = now().saturating_sub(meta.received) > self.cfg.max_age.as_secs();
        if temp && expired {
            for r in meta.rcpts.iter().filter(|r| !r.done) {
                if !failed.iter().any(|(a, _, _)| a == &r.address) {
                    failed.push((
                        r.address.clone(),
                        format!("451 4.4.7 delivery time expired; last error: {temp_reason}"),
                        false,
                    ));
                }
            }
            temp = false;
        }
        for (addr, _, _) in &failed {
            if let Some(e) = meta.rcpts.iter_mut().find(|x| &x.address == addr) {
                e.done = true;
            }
        }
        if !failed.is_empty() {
            let received = self.spool.load_in(&meta.id).unwrap_or_default();
            self.bounce(&meta, &failed, &received, &out);
        }
        if meta.rcpts.iter().all(|r| r.done) {
            let _ = self.spool.remove(&meta.id);
        } else if temp {
            meta.attempts = meta.attempts.saturating_add(1);
            meta.next_attempt = now().saturating_add(self.backoff(meta.attempts));
            let _ = self.spool.update(&meta);
        } else {
            let _ = self.spool.update(&meta);
        }
    }

    /// Spools an NDR to the reverse path (never to `<>`, RFC 5321 §6.1 / RFC 3464 §2).
    fn bounce(&self, meta: &Meta, failed: &[(String, String, bool)], received: &[u8], out: &[u8]) {
        use smtp_proto::{RCPT_NOTIFY_FAILURE, RCPT_NOTIFY_NEVER};
        if meta.is_dsn || meta.mail_from.is_empty() {
            tracing::error!(id = %meta.id, "undeliverable message from the null sender: kept in spool/dead");
            let _ = self.spool.bury(&meta.id);
            return;
        }
        let wanted: Vec<&(String, String, bool)> = failed
            .iter()
            .filter(|(a, _, _)| {
                meta.rcpts.iter().find(|r| &r.address == a).is_none_or(|r| {
                    r.notify == 0
                        || (r.notify & RCPT_NOTIFY_NEVER == 0
                            && r.notify & RCPT_NOTIFY_FAILURE != 0)
                })
            })
            .collect();
        if wanted.is_empty() {
            return;
        }
        let report = dsn::Report {
            hostname: &self.hostname,
            reverse_path: &meta.mail_from,
            id: &meta.id,
            envid: meta.envid.as_deref(),
            arrival: time::OffsetDateTime::from_unix_timestamp(
                i64::try_from(meta.received).unwrap_or(0),
            )
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
            next_hop: &self.cfg.next_hop,
            failed: wanted
                .iter()
                .map(|(a, reply, perm)| dsn::Failed {
                    address: a,
                    orcpt: meta
                        .rcpts
                        .iter()
                        .find(|r| &r.address == a)
                        .and_then(|r| r.orcpt.as_deref()),
                    status: dsn::status_of(reply, *perm),
                    diagnostic: reply.clone(),
                })
                .collect(),
            received,
            processed: out,
            ret_full: meta.ret == Some(true),
        };
        let ndr = dsn::build(&report);
        let id = format!("{}-dsn", meta.id);
        let m = Meta {
            id: id.clone(),
            mail_from: String::new(),
            rcpts: vec![SpoolRcpt {
                address: meta.mail_from.clone(),
                orcpt: None,
                notify: 0,
                done: false,
            }],
            ret: None,
            envid: None,
            body_8bit: !ndr.is_ascii(),
            smtputf8: false,
            bypass: None,
            received: now(),
            attempts: 0,
            next_attempt: 0,
            is_dsn: true,
        };
        if let Err(e) = self.spool.store(&m, &ndr, &ndr) {
            tracing::error!(id = %meta.id, "cannot spool the NDR: {}", e.text);
        } else {
            tracing::info!(id = %meta.id, ndr = %id, "bounced to <{}>", meta.mail_from);
            self.wake.notify_one();
        }
    }
}
