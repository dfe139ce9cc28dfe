//! The gateway as a service: the ESMTP server (`reseal serve`), the durable spool, the
//! relay to the next hop, and delivery status notifications.
//!
//! The pipeline runs before the reply to DATA, so every refusal happens in the dialog
//! (RFC 4902 §3.1) with trace data in the reply. What the spool holds is the processed
//! message; 250 is sent only once it and its envelope are on disk (fsync). After a
//! crash, whatever was acknowledged is delivered at least once.

pub mod client;
pub mod dsn;
pub mod fairness;
pub mod line;
pub mod relay;
pub mod sasl;
pub mod server;
pub mod spool;
pub mod tls;
