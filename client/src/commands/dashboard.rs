//! `verity dashboard`: serves the web dashboard (`dashboard/` in the
//! repository) on a local port. The page itself talks to the node over its
//! WebSocket RPC with `@polkadot/api`; this server only hands out the page,
//! its script (bundled with its npm packages by `npm run build`, which
//! `scripts/setup` runs) and `/config.json`, which names the node.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;

/// `verity dashboard`.
#[derive(Args, Debug)]
pub struct Dashboard {
	/// Port to serve the page on.
	#[arg(long, default_value_t = 8080)]
	pub port: u16,
	/// Address to listen on (`0.0.0.0` to serve other machines; the page
	/// then needs a node URL those machines reach).
	#[arg(long, default_value = "127.0.0.1")]
	pub listen: String,
	/// The dashboard's files: `index.html`, `style.css` and the bundled
	/// `dist/app.js`.
	#[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../dashboard"))]
	pub assets: PathBuf,
}

/// What the server hands out: (request path, file under `--assets`,
/// content type).
const FILES: [(&str, &str, &str); 4] = [
	("/", "index.html", "text/html; charset=utf-8"),
	("/style.css", "style.css", "text/css; charset=utf-8"),
	("/app.js", "dist/app.js", "text/javascript; charset=utf-8"),
	("/app.js.map", "dist/app.js.map", "application/json"),
];

/// Checks that `url` is a WebSocket URL the page can open.
pub fn check_node_url(url: &str) -> anyhow::Result<()> {
	let rest =
		url.strip_prefix("ws://").or_else(|| url.strip_prefix("wss://")).with_context(|| {
			format!("--url {url:?} is not a node's WebSocket address (ws://host:port or wss://host:port)")
		})?;
	let host = rest.split(['/', '?']).next().unwrap_or_default();
	if host.is_empty() || host.contains(char::is_whitespace) {
		bail!("--url {url:?} has no host (e.g. ws://127.0.0.1:9944)");
	}
	// `host:port`, `[v6]:port`, or a host alone.
	let port = match host.strip_prefix('[') {
		Some(v6) => v6.split_once("]:").map(|(_, p)| p),
		None => host.rsplit_once(':').map(|(_, p)| p),
	};
	if let Some(port) = port.filter(|p| p.parse::<u16>().is_err()) {
		bail!("--url {url:?}: {port:?} is not a port number");
	}
	Ok(())
}

/// The files, checked to exist.
fn routes(assets: &Path) -> anyhow::Result<Vec<(&'static str, PathBuf, &'static str)>> {
	let mut routes = Vec::new();
	for (path, file, kind) in FILES {
		let file = assets.join(file);
		if !file.is_file() {
			bail!(
				"{} is missing: build the dashboard with `npm ci --prefix {dir} && npm run build --prefix {dir}` (scripts/setup does)",
				file.display(),
				dir = assets.display()
			);
		}
		routes.push((path, file, kind));
	}
	Ok(routes)
}

/// Serves the dashboard until the process is stopped.
pub fn serve(node_url: &str, args: Dashboard) -> anyhow::Result<()> {
	check_node_url(node_url)?;
	let routes = routes(&args.assets)?;
	let config = serde_json::json!({ "url": node_url }).to_string();
	let address = format!("{}:{}", args.listen, args.port);
	let server = tiny_http::Server::http(&address)
		.map_err(|e| anyhow::anyhow!("cannot listen on {address}: {e}"))?;
	println!("Verity dashboard on http://{address}/ (node {node_url})");
	for request in server.incoming_requests() {
		let path = request.url().split('?').next().unwrap_or("/").to_string();
		let header = |kind: &str| {
			tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
				.expect("a valid header")
		};
		let response = if path == "/config.json" {
			tiny_http::Response::from_string(config.clone()).with_header(header("application/json"))
		} else if path == "/favicon.ico" {
			tiny_http::Response::from_string("").with_status_code(204)
		} else if let Some((_, file, kind)) = routes.iter().find(|(p, _, _)| *p == path) {
			match std::fs::read(file) {
				Ok(bytes) => tiny_http::Response::from_data(bytes).with_header(header(kind)),
				Err(e) => {
					tiny_http::Response::from_string(format!("cannot read {}: {e}", file.display()))
						.with_status_code(500)
				}
			}
		} else {
			tiny_http::Response::from_string("not found").with_status_code(404)
		};
		// A client that went away is not the server's problem.
		let _ = request.respond(response);
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::check_node_url;

	#[test]
	fn node_urls_are_checked() {
		for good in [
			"ws://127.0.0.1:9944",
			"wss://rpc.example.org",
			"ws://[::1]:9944",
			"ws://node:9944/path",
		] {
			check_node_url(good).unwrap();
		}
		for (bad, why) in [
			("http://127.0.0.1:9944", "not a node's WebSocket address"),
			("127.0.0.1:9944", "not a node's WebSocket address"),
			("ws://", "has no host"),
			("ws://127.0.0.1:99999", "not a port number"),
			("ws://host:port", "not a port number"),
		] {
			let e = check_node_url(bad).unwrap_err().to_string();
			assert!(e.contains(why), "{bad}: {e}");
		}
	}
}
