//! `pithead-fake`: the fake Pithead box in one multi-call binary (see the library docs).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use fakes::setup::SetupOptions;
use fakes::stack::Stack;

const USAGE: &str = "\
usage:
  pithead-fake setup DIR [--dashboard-port N] [--faults a,b] [--no-start] [--script-entry] [--daemon-env K=V]...
                    [--tari-modes local,remote]  (an older build: no tari.mode off)
  pithead-fake teardown DIR
  pithead-fake cli [--dir DIR] ARGS...   (the fake `pithead`; DIR also from PITHEAD_FAKE_DIR)
  pithead-fake daemon SERVICE --port N
  pithead-fake faults                     (list the injectable faults)
  pithead-fake probe PORT                 (exit 0 when 127.0.0.1:PORT answers GET /health: a healthcheck)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args.first().cloned().unwrap_or_default();
    // Installed as `pithead` (a symlink in a stack dir): the CLI, in the link's directory
    // when it was called by path, else in PITHEAD_FAKE_DIR, else here.
    if Path::new(&argv0)
        .file_name()
        .is_some_and(|n| n == "pithead")
    {
        let dir = if argv0.contains('/') {
            Path::new(&argv0)
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        } else {
            std::env::var_os("PITHEAD_FAKE_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from)
        };
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        return code(fakes::cli::run(&Stack::new(absolute(&dir)), &args[1..]));
    }
    // Installed as `test`, `cat` or `caddy` in the image: the in-container tools the CLI runs
    // (`docker exec tor cat …`); also as the first argument, for `docker run IMAGE caddy …`
    // through the image's entrypoint.
    if let Some(name) = Path::new(&argv0).file_name().and_then(|n| n.to_str())
        && let Some(rc) = fakes::tools::run(name, &args[1..])
    {
        return code(rc);
    }
    if let Some(rc) = args
        .get(1)
        .and_then(|name| fakes::tools::run(name, &args[2..]))
    {
        return code(rc);
    }
    match args.get(1).map(String::as_str) {
        Some("cli") => {
            let mut rest = &args[2..];
            let mut dir = std::env::var_os("PITHEAD_FAKE_DIR").map(PathBuf::from);
            if rest.first().map(String::as_str) == Some("--dir") {
                let Some(d) = rest.get(1) else {
                    return usage_error("--dir needs a directory");
                };
                dir = Some(PathBuf::from(d));
                rest = &rest[2..];
            }
            let dir = dir.unwrap_or_else(|| PathBuf::from("."));
            code(fakes::cli::run(&Stack::new(absolute(&dir)), rest))
        }
        Some("daemon") => {
            let (Some(service), Some("--port"), Some(port)) =
                (args.get(2), args.get(3).map(String::as_str), args.get(4))
            else {
                return usage_error("daemon needs SERVICE --port N");
            };
            let Ok(port) = port.parse::<u16>() else {
                return usage_error("--port must be a port number");
            };
            match fakes::daemons::run(service, port) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Some("setup") => {
            let Some(dir) = args.get(2) else {
                return usage_error("setup needs a directory");
            };
            let mut options = SetupOptions::default();
            let mut it = args[3..].iter();
            while let Some(a) = it.next() {
                match a.as_str() {
                    "--dashboard-port" => match it.next().and_then(|p| p.parse().ok()) {
                        Some(p) => options.dashboard_port = p,
                        None => {
                            return usage_error("--dashboard-port needs a port (0 = ephemeral)");
                        }
                    },
                    "--faults" => match it.next() {
                        Some(f) => {
                            options.faults = f
                                .split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect()
                        }
                        None => return usage_error("--faults needs a comma-separated list"),
                    },
                    "--daemon-env" => match it.next().and_then(|kv| kv.split_once('=')) {
                        Some((k, v)) => {
                            options.daemon_env.insert(k.to_string(), v.to_string());
                        }
                        None => return usage_error("--daemon-env needs KEY=VALUE"),
                    },
                    "--tari-modes" => match it.next() {
                        Some(m) => {
                            options.tari_modes = Some(
                                m.split(',')
                                    .filter(|s| !s.is_empty())
                                    .map(String::from)
                                    .collect(),
                            )
                        }
                        None => return usage_error("--tari-modes needs a list like local,remote"),
                    },
                    "--no-start" => options.start = false,
                    "--script-entry" => options.script_entry = true,
                    other => return usage_error(&format!("unknown option {other}")),
                }
            }
            match fakes::setup::setup(Path::new(dir), &options) {
                Ok(stack) => {
                    println!(
                        "Fake box ready in {}; run {}/pithead status",
                        stack.dir.display(),
                        stack.dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Some("teardown") => {
            let Some(dir) = args.get(2) else {
                return usage_error("teardown needs a directory");
            };
            match fakes::setup::teardown(Path::new(dir)) {
                Ok(n) => {
                    println!("Stopped {n} fake process(es).");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        Some("probe") => {
            // A container healthcheck: a frozen or stopped daemon does not answer in time.
            let Some(port) = args.get(2).and_then(|p| p.parse::<u16>().ok()) else {
                return usage_error("probe needs a port");
            };
            let ok = fakes::http::request(
                port,
                "GET",
                "/health",
                None,
                std::time::Duration::from_millis(500),
            )
            .is_some_and(|(code, _)| code == 200);
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Some("faults") => {
            for f in fakes::faults::Fault::ALL {
                println!("{}", f.name());
            }
            ExitCode::SUCCESS
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => usage_error("unknown command"),
    }
}

fn absolute(dir: &Path) -> PathBuf {
    if dir.is_absolute() {
        dir.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(dir))
            .unwrap_or_else(|_| dir.to_path_buf())
    }
}

fn code(c: i32) -> ExitCode {
    ExitCode::from(u8::try_from(c).unwrap_or(1))
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error: {msg}\n{USAGE}");
    ExitCode::from(2)
}
