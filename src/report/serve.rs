//! `paretosearch serve`: the report's application, live, on `127.0.0.1` only.
//!
//! A small synchronous HTTP server (`tiny_http`) on a blocking thread: `/`
//! is the page of `report` without embedded data; it fetches `/data.json`
//! (the document `report` embeds, with the state token) and polls `/state`
//! every two seconds, fetching `/data.json` again and redrawing in place
//! (choices and selection kept) when the study changed. The document is
//! rebuilt only when the state token changes. The storage is read, never written; the server may start
//! before the study does and shows a waiting page until it exists. It
//! listens on the loopback interface only: the page shows parameters and
//! logs, which are nobody else's business. For the same reason it answers
//! only requests whose `Host` is a loopback name (421 otherwise): a page of
//! another site whose name was rebound to 127.0.0.1 (DNS rebinding) still
//! sends its own name.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use paretosearch_core::Trial;
use paretosearch_store::Store;

use super::{data::Reference, page, page_data, reference_of, state_token};
use crate::cli::ServeArgs;
use crate::plot::svg::esc;
use crate::study;

struct Live {
    spec: paretosearch_core::StudySpec,
    dir: std::path::PathBuf,
    storage_url: String,
    reference: Reference,
    log_lines: usize,
    log_budget: usize,
    store: Option<Arc<dyn Store>>,
    cache: Option<(String, String)>,
}

impl Live {
    /// The study's trials, or `None` while it does not exist yet.
    async fn trials(&mut self) -> Result<Option<Vec<Trial>>> {
        if self.store.is_none() {
            if let Some(path) = self.storage_url.strip_prefix("sqlite://") {
                let path = path.split('?').next().unwrap_or(path);
                if !path.starts_with(':') && !std::path::Path::new(path).exists() {
                    return Ok(None);
                }
            }
            // Read only: the page must not change the study it shows. A
            // file `run` has only just created has no tables yet.
            match paretosearch_store::open_read_only(&self.storage_url).await {
                Ok(store) => self.store = Some(store),
                Err(paretosearch_store::StoreError::Uninitialized { .. }) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        let store = self.store.clone().expect("opened above");
        let Some(rec) = store.find_study(&self.spec.name).await? else {
            return Ok(None);
        };
        if rec.fingerprint != self.spec.fingerprint() {
            return Err(anyhow!(
                "the stored study `{}` has another search space or objectives than {}",
                self.spec.name,
                self.spec.origin.file.display()
            ));
        }
        Ok(Some(store.trials(rec.id).await?))
    }

    async fn state(&mut self) -> String {
        match self.trials().await {
            Ok(Some(t)) => state_token(&t),
            Ok(None) => "none".into(),
            Err(e) => format!("error: {e}"),
        }
    }

    /// `/`: the application, or a waiting page while there is no study.
    async fn page(&mut self) -> (u16, &'static str, String) {
        match self.trials().await {
            Ok(Some(_)) => (200, "text/html; charset=utf-8", page(&self.spec.name, None)),
            Ok(None) => (
                200,
                "text/html; charset=utf-8",
                waiting_page(
                    &self.spec.name,
                    "none",
                    "waiting for the study to start (run it with `paretosearch run`)",
                ),
            ),
            Err(e) => {
                let msg = format!("{e:#}");
                (
                    500,
                    "text/html; charset=utf-8",
                    waiting_page(
                        &self.spec.name,
                        &format!("error: {msg}"),
                        &format!("cannot read the study: {msg}"),
                    ),
                )
            }
        }
    }

    /// `/data.json`: the study as the page draws it.
    async fn data(&mut self) -> (u16, &'static str, String) {
        let trials = match self.trials().await {
            Ok(Some(t)) => t,
            Ok(None) => return (404, "text/plain; charset=utf-8", "no study yet\n".into()),
            Err(e) => return (500, "text/plain; charset=utf-8", format!("{e:#}\n")),
        };
        let token = state_token(&trials);
        if let Some((t, json)) = &self.cache {
            if *t == token {
                return (200, "application/json", json.clone());
            }
        }
        let logs_dir = self.dir.join(format!("{}-logs", self.spec.name));
        let store = self.store.clone().expect("trials() opened it");
        match page_data(
            store.as_ref(),
            &self.spec,
            &paretosearch::mask_url(&self.storage_url),
            &trials,
            &super::data::Logs {
                dir: &logs_dir,
                lines: self.log_lines,
                budget: self.log_budget,
            },
            &self.reference,
            Some(&token),
        )
        .await
        {
            Ok(v) => {
                let json = v.to_string();
                self.cache = Some((token, json.clone()));
                (200, "application/json", json)
            }
            Err(e) => (500, "text/plain; charset=utf-8", format!("{e:#}\n")),
        }
    }
}

fn waiting_page(name: &str, token: &str, message: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>paretosearch: {n}</title></head><body style=\"font-family: sans-serif; margin: 40px\"><h1>{n}</h1><p>{m}</p><div id=\"live\" data-token=\"{t}\"></div><script>var t=document.getElementById('live').getAttribute('data-token');setInterval(function(){{fetch('state',{{cache:'no-store'}}).then(function(r){{return r.text();}}).then(function(s){{if(s.trim()!==t)location.reload();}}).catch(function(){{}});}},2000);</script></body></html>\n",
        n = esc(name),
        m = esc(message),
        t = esc(token)
    )
}

/// Whether a request's `Host` header names this server: a loopback name
/// (`localhost`, `127.0.0.1`, `[::1]`) or the address it is bound to, with
/// or without a port. A page of another site that rebinds its own name to
/// 127.0.0.1 (DNS rebinding) still sends that name, and is refused.
fn host_allowed(host: &str, bound: std::net::SocketAddr) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let name = match host.rsplit_once(':') {
        // `[::1]:8765`, `localhost:8765`; a bare IPv6 literal is bracketed.
        Some((name, port)) if !name.is_empty() && port.parse::<u16>().is_ok() => {
            if name.starts_with('[') || !name.contains(':') {
                name
            } else {
                host.as_str()
            }
        }
        _ => host.as_str(),
    };
    let bound_name = match bound.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name == bound_name
}

/// Run `serve` until interrupted.
pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    let prepared = study::prepare(&args.study.study, args.study.storage.as_deref())?;
    let reference = reference_of(&prepared.spec, args.reference.as_deref())?;
    let server = tiny_http::Server::http(("127.0.0.1", args.port))
        .map_err(|e| anyhow!("cannot listen on 127.0.0.1:{}: {e}", args.port))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| anyhow!("the server has no IP address"))?;
    println!(
        "serving study `{}` on http://{addr}/ (Ctrl-C to stop)",
        prepared.spec.name
    );
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut live = Live {
        spec: prepared.spec,
        dir: prepared.dir,
        storage_url: prepared.storage_url,
        reference,
        log_lines: args.log_lines,
        log_budget: args.log_budget * 1024,
        store: None,
        cache: None,
    };
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        for req in server.incoming_requests() {
            let path = req.url().split('?').next().unwrap_or("/").to_string();
            let is_get = matches!(
                req.method(),
                tiny_http::Method::Get | tiny_http::Method::Head
            );
            let host = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Host"))
                .map(|h| h.value.as_str().to_string());
            let refused = host.as_deref().filter(|h| !host_allowed(h, addr));
            let (status, ctype, body) = match (is_get, path.as_str()) {
                _ if refused.is_some() => (
                    421,
                    "text/plain; charset=utf-8",
                    format!(
                        "refused: Host `{}` is not this server's; it answers only to localhost, 127.0.0.1 and [::1] (a page of another site must not read it)\n",
                        refused.unwrap_or_default()
                    ),
                ),
                (false, _) => (405, "text/plain; charset=utf-8", "only GET\n".to_string()),
                (true, "/" | "/index.html" | "/report.html") => handle.block_on(live.page()),
                (true, "/data.json") => handle.block_on(live.data()),
                // Browsers ask for it; there is none (and no 404 in their console).
                (true, "/favicon.ico") => (204, "image/x-icon", String::new()),
                (true, "/state") => (
                    200,
                    "text/plain; charset=utf-8",
                    handle.block_on(live.state()),
                ),
                (true, _) => (404, "text/plain; charset=utf-8", "not found\n".to_string()),
            };
            let resp = tiny_http::Response::from_string(body)
                .with_status_code(status)
                .with_header(
                    tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes())
                        .expect("valid header"),
                )
                .with_header(
                    tiny_http::Header::from_bytes(&b"Cache-Control"[..], &b"no-store"[..])
                        .expect("valid header"),
                );
            let _ = req.respond(resp);
        }
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    #[test]
    fn only_loopback_hosts_are_served() {
        let bound: std::net::SocketAddr = "127.0.0.1:8765".parse().unwrap();
        for ok in [
            "localhost",
            "LOCALHOST:8765",
            "127.0.0.1",
            "127.0.0.1:8765",
            "[::1]",
            "[::1]:80",
        ] {
            assert!(host_allowed(ok, bound), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8765",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "",
            "[::1]x",
        ] {
            assert!(!host_allowed(bad, bound), "{bad}");
        }
        let other: std::net::SocketAddr = "10.0.0.5:9000".parse().unwrap();
        assert!(host_allowed("10.0.0.5:9000", other));
        assert!(!host_allowed("10.0.0.6", other));
    }
}
