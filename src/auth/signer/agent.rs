//! The ssh-agent service: [`ssh::agent::Agent`](crate::auth::ssh::agent)
//! on a Unix socket, one poll loop for every client.
//!
//! - The socket's directory is made 0700 if missing; the socket is 0600.
//!   Each connection's peer is checked with SO_PEERCRED: root, the
//!   daemon's own uid and `signer agent_uids` only.
//! - Keys live in memory only while keyfs is unlocked. When keyfs is
//!   locked every request fails at once (the list is empty, signing
//!   fails), so a client never hangs; on the next request after an unlock
//!   the saved keys come back.
//! - Saving rule: a key added without a lifetime (`ssh-add KEY`) is saved
//!   in keyfs and survives restarts; a key added with one (`ssh-add -t
//!   SECS`) lives in memory only. Removing a key removes it from keyfs too.
//! - Confirm (`ssh-add -c`): signing with such a key asks the [`Confirm`]
//!   hook. Until a confirmer is attached (the factotum's confirm file) the
//!   configured policy answers (`signer agent_confirm`, deny by default).

use crate::admit;
use crate::auth::keyfs::shared::SharedKeyfs as Shared;
use crate::auth::keyfs::signer::AgentKey;
use crate::auth::ssh::agent::{self, Agent, Held, Request};
use crate::auth::ssh::key::{Ed25519Key, PublicKey};
use crate::config::model::ConfirmPolicy;
use crate::sys::frameserve::{self, Closed, Handler, Limits, Peer, Verdict};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// Asks whether a confirm-constrained key may sign. The factotum's
/// confirm file plugs in here.
pub trait Confirm: Send {
    fn confirm(&mut self, key: &PublicKey, comment: &str) -> bool;
}

/// A fixed answer, for when no person can be asked.
pub struct Policy(pub ConfirmPolicy);

impl Confirm for Policy {
    fn confirm(&mut self, key: &PublicKey, comment: &str) -> bool {
        let ok = self.0 == ConfirmPolicy::Allow;
        log::info!(
            "agent: confirm for {} ({comment}) answered {} by policy",
            key.fingerprint(),
            if ok { "yes" } else { "no" }
        );
        ok
    }
}

/// The agent's protocol handler.
pub struct AgentHandler {
    keyfs: Shared,
    agent: Agent,
    /// The saved keys are in `agent` (keyfs was unlocked when we looked).
    loaded: bool,
    pub confirm: Box<dyn Confirm>,
    pub allowed_uids: Vec<u32>,
    pub signatures: u64,
}

/// What a saved key is listed as: its certificate, or its public key.
fn saved_id(k: &AgentKey) -> Vec<u8> {
    match &k.cert {
        Some(c) => c.clone(),
        None => Ed25519Key::from_seed(&k.seed).public().blob,
    }
}

fn failure() -> Vec<u8> {
    frameserve::frame(&[5])
}

fn now() -> u64 {
    super::service::now()
}

impl AgentHandler {
    pub fn new(keyfs: Shared, confirm: Box<dyn Confirm>, extra_uids: &[u32]) -> AgentHandler {
        let mut allowed_uids = vec![0, crate::sys::cred::euid()];
        allowed_uids.extend_from_slice(extra_uids);
        AgentHandler {
            keyfs,
            agent: Agent::new(),
            loaded: false,
            confirm,
            allowed_uids,
            signatures: 0,
        }
    }

    /// Match the in-memory keys to keyfs's state: forget them when it is
    /// locked, load the saved ones when it is unlocked again.
    fn sync(&mut self) -> bool {
        if self.keyfs.is_locked() {
            if self.loaded {
                self.agent = Agent::new();
                self.loaded = false;
                log::info!("agent: keyfs locked, keys forgotten");
            }
            return false;
        }
        if !self.loaded {
            match self.keyfs.with(|s| Ok(s.db().signer.agent_keys.clone())) {
                Ok(keys) => {
                    for k in keys {
                        self.agent.add(Held {
                            key: Ed25519Key::from_seed(&k.seed),
                            cert: k.cert,
                            comment: k.comment,
                            expires: None,
                            confirm: k.confirm,
                        });
                    }
                    self.loaded = true;
                }
                Err(e) => {
                    log::warn!("agent: {e}");
                    return false;
                }
            }
        }
        true
    }

    /// Answer one request body.
    pub fn answer(&mut self, body: &[u8]) -> Vec<u8> {
        if !self.sync() {
            // Locked: an empty list, and failure for everything else.
            return if body.first() == Some(&11) {
                frameserve::frame(&[12, 0, 0, 0, 0])
            } else {
                failure()
            };
        }
        let parsed = agent::parse(body).ok();
        let confirm = &mut self.confirm;
        let reply = self
            .agent
            .handle(body, now(), &mut |k, c| confirm.confirm(k, c));
        let ok = reply == frameserve::frame(&[6]);
        match parsed {
            Some(Request::Sign { .. }) if reply.get(4) == Some(&14) => self.signatures += 1,
            Some(Request::Add {
                seed,
                cert,
                comment,
                lifetime: None,
                confirm,
            }) if ok => {
                let key = AgentKey {
                    seed,
                    cert,
                    comment,
                    confirm,
                };
                let pk = Ed25519Key::from_seed(&key.seed).public();
                let id = saved_id(&key);
                let r = self.keyfs.with(|s| {
                    s.update(|db| {
                        db.signer.agent_keys.retain(|k| saved_id(k) != id);
                        db.signer.agent_keys.push(key);
                        Ok(())
                    })
                });
                match r {
                    Ok(()) => log::info!("agent: saved key {}", pk.fingerprint()),
                    Err(e) => log::warn!("agent: key {} not saved: {e}", pk.fingerprint()),
                }
            }
            Some(Request::Remove { key }) if ok => {
                let r = self.keyfs.with(|s| {
                    s.update(|db| {
                        db.signer.agent_keys.retain(|k| saved_id(k) != key);
                        Ok(())
                    })
                });
                if let Err(e) = r {
                    log::warn!("agent: removing a saved key: {e}");
                }
            }
            Some(Request::RemoveAll) if ok => {
                if let Err(e) = self.keyfs.with(|s| {
                    s.update(|db| {
                        db.signer.agent_keys.clear();
                        Ok(())
                    })
                }) {
                    log::warn!("agent: removing saved keys: {e}");
                }
            }
            _ => {}
        }
        reply
    }
}

impl Handler<UnixStream> for AgentHandler {
    type Conn = ();

    fn open(&mut self, _stream: &UnixStream, peer: &Peer) -> Option<()> {
        match peer.who {
            admit::Peer::Local { uid, .. } if self.allowed_uids.contains(&uid) => Some(()),
            _ => {
                log::warn!("agent: {} refused", peer.name);
                None
            }
        }
    }

    fn frame(&mut self, _c: &mut (), body: &[u8]) -> Verdict {
        Verdict::Send(self.answer(body))
    }

    fn closed(&mut self, _c: (), _peer: &Peer, _why: Closed) {}
}

/// The agent's limits: `signer agent_max_conns`, `agent_peer_conns`,
/// `agent_idle_timeout`, and frames no larger than the protocol allows.
pub fn limits(c: &crate::config::Config) -> Limits {
    Limits {
        admit: c.signer.agent_conns,
        max_frame: agent::MAX_FRAME,
    }
}

/// Bind the agent socket: the directory made 0700 if missing, a stale
/// socket replaced (anything else at the path is an error), the socket
/// itself 0600.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !m.file_type().is_socket() {
            return Err(std::io::Error::other(format!(
                "{} exists and is not a socket",
                path.display()
            )));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// The socket path from the configuration.
pub fn socket_path(c: &crate::config::Config) -> PathBuf {
    c.signer
        .agent_socket
        .clone()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| c.main.run_dir.join("agent"))
}

/// The agent as a daemon service.
pub struct AgentService {
    pub keyfs: Shared,
}

impl crate::service::Service for AgentService {
    fn name(&self) -> &'static str {
        "agent"
    }

    fn run(
        self: Box<Self>,
        ctx: crate::service::Ctx,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut path = socket_path(&ctx.config);
        let listener = bind(&path).map_err(|e| format!("agent socket {}: {e}", path.display()))?;
        log::info!("agent: listening on {}", path.display());
        let handler = AgentHandler::new(
            self.keyfs.clone(),
            Box::new(Policy(ctx.config.signer.agent_confirm)),
            &ctx.config.signer.agent_uids,
        );
        let mut server = frameserve::Server::new(listener, handler, limits(&ctx.config));
        let r = loop {
            if let Err(e) = server.serve(ctx.control.fd()) {
                break Err(e.into());
            }
            let mut stop = false;
            for ev in ctx.control.take() {
                match ev {
                    crate::service::Event::Stop => stop = true,
                    crate::service::Event::Reload(c) => {
                        server.handler.confirm = Box::new(Policy(c.signer.agent_confirm));
                        let mut uids = vec![0, server.handler.allowed_uids[1]];
                        uids.extend_from_slice(&c.signer.agent_uids);
                        server.handler.allowed_uids = uids;
                        server.set_limits(limits(&c));
                        // A new socket: moved in place, so the keys held
                        // only in memory (added with a lifetime) and the
                        // open connections stay.
                        let new = socket_path(&c);
                        if new != path {
                            match bind(&new) {
                                Ok(l) => {
                                    server.listener = l;
                                    let _ = std::fs::remove_file(&path);
                                    log::info!("agent: moved to {}", new.display());
                                    path = new;
                                }
                                Err(e) => log::error!(
                                    "agent: cannot move to {}, staying on {}: {e}",
                                    new.display(),
                                    path.display()
                                ),
                            }
                        }
                    }
                }
            }
            if stop {
                break Ok(());
            }
        };
        let _ = std::fs::remove_file(&path);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keyfs::{Mode, RealFs, Settings, Store};
    use crate::auth::ssh::wire::put_string;
    use crate::wire::Writer;

    fn add_body(seed: [u8; 32], lifetime: Option<u32>) -> Vec<u8> {
        let k = Ed25519Key::from_seed(&seed);
        let pk = k.public().key_fields()[4..].to_vec();
        let mut w = Writer::new();
        w.u8(if lifetime.is_some() { 25 } else { 17 });
        put_string(&mut w, b"ssh-ed25519");
        put_string(&mut w, &pk);
        let mut sk = seed.to_vec();
        sk.extend_from_slice(&pk);
        put_string(&mut w, &sk);
        put_string(&mut w, b"comment");
        if let Some(l) = lifetime {
            w.u8(1).u32be(l);
        }
        w.into_vec()
    }

    fn count(reply: &[u8]) -> u32 {
        assert_eq!(reply[4], 12);
        u32::from_be_bytes([reply[5], reply[6], reply[7], reply[8]])
    }

    #[test]
    fn saving_rule_and_locked_keyfs() {
        let dir = std::env::temp_dir().join(format!("warden-agent-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        Store::create(RealFs, &file, b"m", 1000).unwrap();
        let keyfs = Shared::new(Settings {
            file,
            mode: Mode::Attended,
            iterations: 1000,
        });
        let mut h = AgentHandler::new(keyfs.clone(), Box::new(Policy(ConfirmPolicy::Deny)), &[]);
        // Locked: empty list, failure for an add, at once.
        assert_eq!(count(&h.answer(&[11])), 0);
        assert_eq!(h.answer(&add_body([1; 32], None)), failure());
        keyfs.unlock(b"m").unwrap();
        assert_eq!(h.answer(&add_body([1; 32], None)), frameserve::frame(&[6]));
        assert_eq!(
            h.answer(&add_body([2; 32], Some(60))),
            frameserve::frame(&[6])
        );
        assert_eq!(count(&h.answer(&[11])), 2);
        // Only the key without a lifetime was saved.
        let saved = keyfs.with(|s| Ok(s.db().signer.agent_keys.len())).unwrap();
        assert_eq!(saved, 1);
        // Locking forgets everything; unlocking brings back the saved key.
        keyfs.lock();
        assert_eq!(count(&h.answer(&[11])), 0);
        keyfs.unlock(b"m").unwrap();
        assert_eq!(count(&h.answer(&[11])), 1);
        // Remove-all clears keyfs too.
        assert_eq!(h.answer(&[19]), frameserve::frame(&[6]));
        let saved = keyfs.with(|s| Ok(s.db().signer.agent_keys.len())).unwrap();
        assert_eq!(saved, 0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
