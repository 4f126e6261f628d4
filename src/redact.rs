//! Secret redaction. Everything that leaves a box target (command output, observations,
//! artifacts) goes through a [`Redactor`] first, so no journal line, report, artifact or
//! regression file carries a token, password, view key or onion address.
//!
//! Two nets, because either alone leaks: **by key and position** (a `KEY=value` line of a
//! secret .env key, a `"key": "value"` pair in text whose key is a secret one, a secret leaf of
//! config.json, each masked whatever its value, which catches a secret minted after the
//! redactor was built) and **by value** (a known secret value is replaced by `<redacted:NAME>`
//! wherever it appears, in any text or JSON string).
//!
//! Masking a value everywhere it occurs is only right for values that are secret and long
//! enough to be unambiguous: a node username such as `pithead`, chosen by the user, is not a
//! secret, and masking it by value would blank the CLI's own name in every line of its output.
//! So usernames are masked by key and position only ([`BY_KEY_ONLY`]), and no value shorter
//! than [`MIN_SECRET_LEN`] is masked by value.

use serde_json::Value;

/// The .env keys whose values are secrets (pithead-model.md §1.4 and §3.3).
pub const SECRET_ENV_KEYS: &[&str] = &[
    "PROXY_AUTH_TOKEN",
    "MONERO_ONION_ADDRESS",
    "TARI_ONION_ADDRESS",
    "P2POOL_ONION_ADDRESS",
    "DASHBOARD_ONION_ADDRESS",
    "DASHBOARD_ONION_CLIENT_PUBKEY",
    "DASHBOARD_ONION_CLIENT_PRIVKEY",
    "WALLET_RPC_PASSWORD",
    "TARI_WALLET_PASSWORD",
    "MONERO_NODE_USERNAME",
    "MONERO_NODE_PASSWORD",
    "MONERO_VIEW_KEY",
    "TARI_VIEW_KEY",
    "TELEGRAM_BOT_TOKEN",
    "HEALTHCHECKS_PING_URL",
    "NTFY_URL",
    "NTFY_TOKEN",
    "NOTIFY_WEBHOOK_URLS",
    "XMRIG_API_TOKEN",
    "WORKER_API_TOKENS",
    "PROXY_STRATUM_PASSWORD",
    "DASHBOARD_AUTH_HASH_B64",
    "DASHBOARD_AUTH_PW_FP",
    "XVB_STANDBY_SOURCE",
];

/// The .env keys whose sorted lines make the secret fingerprint (pithead-model.md §3.4).
pub const FINGERPRINT_KEYS: &[&str] = &[
    "PROXY_AUTH_TOKEN",
    "MONERO_ONION_ADDRESS",
    "TARI_ONION_ADDRESS",
    "P2POOL_ONION_ADDRESS",
    "DASHBOARD_ONION_ADDRESS",
];

/// The secret leaves of config.json (pithead-model.md §1.4, CONTROL_SECRET_PATHS), as dotted
/// paths. `notifications.ntfy` covers every leaf under it.
pub const SECRET_CONFIG_PATHS: &[&str] = &[
    "dashboard.auth.password",
    "telegram.bot_token",
    "workers.api_token",
    "monero.node_username",
    "monero.node_password",
    "monero.view_key",
    "tari.view_key",
    "p2pool.stratum_password",
    "healthchecks.ping_url",
    "notifications.ntfy",
    "notifications.webhooks",
    "xvb.standby.source",
];

/// Values that are never secrets even under a secret key (placeholders and flags); replacing
/// them everywhere would only make output unreadable.
const NOT_SECRET: &[&str] = &["placeholder", "true", "false", "null", "auto", "none"];

/// Values shorter than this are not redacted by value (they would match everywhere); they are
/// still masked by key and position.
pub const MIN_SECRET_LEN: usize = 8;

/// Names (.env keys and config.json paths) whose values are identifiers, not secrets: masked
/// at their position (`KEY=value`, `"node_username": "value"`, the config leaf) but never by
/// value, since a user-picked name (`pithead`, `admin`) also occurs in ordinary text.
pub const BY_KEY_ONLY: &[&str] = &["MONERO_NODE_USERNAME", "monero.node_username"];

/// Replaces known secrets by `<redacted:NAME>`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (name, value), longest value first so a secret containing another is replaced whole.
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// A redactor that knows no values yet (it still masks by key).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one secret value under `name`, to be masked wherever it occurs. Empty, short and
    /// placeholder values, and the values of [`BY_KEY_ONLY`] names, are ignored (they are
    /// still masked by key and position).
    pub fn add(&mut self, name: &str, value: &str) {
        let v = value.trim();
        let v = v.trim_matches('"');
        if v.chars().count() < MIN_SECRET_LEN
            || NOT_SECRET.contains(&v.to_ascii_lowercase().as_str())
            || BY_KEY_ONLY.contains(&name)
        {
            return;
        }
        if self.secrets.iter().any(|(_, s)| s == v) {
            return;
        }
        self.secrets.push((name.to_string(), v.to_string()));
        self.secrets
            .sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    }

    /// Adds the values of the secret keys found in .env text.
    pub fn add_env(&mut self, env_text: &str) {
        for (k, v) in parse_env(env_text) {
            if is_secret_env_key(&k) {
                self.add(&k, &v);
            }
        }
    }

    /// Adds the secret leaves of a config.json value.
    pub fn add_config(&mut self, config: &Value) {
        let mut found = Vec::new();
        collect_secret_leaves(config, &mut String::new(), &mut found);
        for (path, v) in found {
            self.add(&path, &v);
        }
    }

    /// How many secret values it knows.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether it knows no secret value.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Redacts a string by value, then masks secret `KEY=value` lines and `"key": "value"`
    /// pairs by key.
    pub fn redact(&self, text: &str) -> String {
        let mut s = text.to_string();
        for (name, value) in &self.secrets {
            if s.contains(value.as_str()) {
                s = s.replace(value.as_str(), &format!("<redacted:{name}>"));
            }
        }
        mask_json_pairs(&mask_env_lines(&s))
    }

    /// Redacts every string in a JSON value (keys included) and masks config.json secret
    /// leaves by path.
    pub fn redact_json(&self, value: &Value) -> Value {
        let masked = mask_config(value);
        self.redact_json_strings(&masked)
    }

    fn redact_json_strings(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(a) => {
                Value::Array(a.iter().map(|v| self.redact_json_strings(v)).collect())
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json_strings(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Whether `text` still contains a known secret value (for assertions and a last check
    /// before writing a file).
    pub fn leaks(&self, text: &str) -> Option<&str> {
        self.secrets
            .iter()
            .find(|(_, v)| text.contains(v.as_str()))
            .map(|(n, _)| n.as_str())
    }
}

/// Whether `key` is a secret .env key.
pub fn is_secret_env_key(key: &str) -> bool {
    SECRET_ENV_KEYS.contains(&key)
}

/// Parses .env text into (key, value) pairs: `KEY=value` lines, comments and blanks skipped,
/// one level of double or single quotes removed (render_env double-quotes values carrying
/// special characters, with backslash escapes).
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim_start().starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_start_matches("export ").trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        out.push((k.to_string(), unquote(v)));
    }
    out
}

fn unquote(v: &str) -> String {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let inner = &v[1..v.len() - 1];
        let mut s = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    Some(o) => s.push(o),
                    None => s.push('\\'),
                }
            } else {
                s.push(c);
            }
        }
        s
    } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Masks the value of every secret `KEY=value` line (also inside `export KEY=...`).
pub fn mask_env_lines(text: &str) -> String {
    if !SECRET_ENV_KEYS.iter().any(|k| text.contains(k)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trimmed = line.trim_start();
        let body = trimmed.strip_prefix("export ").unwrap_or(trimmed);
        match body.split_once('=') {
            Some((k, v)) if is_secret_env_key(k.trim()) && !v.starts_with("<redacted") => {
                let cut = line.len() - body.len() + k.len() + 1;
                out.push_str(&line[..cut]);
                out.push_str(&format!("<redacted:{}>", k.trim()));
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// Whether `key`, as a JSON object key in text, names a secret: a secret .env key, or the
/// last segment of a secret config.json path that holds a string (`node_password`,
/// `bot_token`...), or a worker's `*token`.
fn is_secret_json_key(key: &str) -> bool {
    is_secret_env_key(key)
        || SECRET_CONFIG_PATHS
            .iter()
            .filter_map(|p| p.rsplit('.').next())
            .filter(|leaf| !matches!(*leaf, "ntfy" | "webhooks"))
            .any(|leaf| leaf == key)
        || key.ends_with("token")
}

/// Masks the string value of every `"key": "value"` pair in text (a config.json or an API
/// answer the CLI printed) whose key is a secret one ([`is_secret_json_key`]). Empty values
/// stay visible; the rest of the text is untouched.
pub fn mask_json_pairs(text: &str) -> String {
    if !text.contains("\":") && !text.contains("\" :") {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let body = &rest[open + 1..];
        let key_len = string_body_len(body);
        let key = &body[..key_len];
        if key.contains('\n') || key_len == body.len() {
            // A stray quote in free text, not a key: step over it alone.
            out.push_str(&rest[..open + 1]);
            rest = body;
            continue;
        }
        let after_key = &body[key_len + 1..];
        let value = after_key
            .trim_start_matches([' ', '\t'])
            .strip_prefix(':')
            .map(|v| v.trim_start_matches([' ', '\t']))
            .and_then(|v| v.strip_prefix('"'));
        match value {
            Some(v) if is_secret_json_key(key) => {
                let len = string_body_len(v);
                // Everything up to the value's opening quote, then the mask.
                out.push_str(&rest[..rest.len() - v.len()]);
                if len == 0 || v[..len].starts_with("<redacted") {
                    out.push_str(&v[..len]);
                } else {
                    out.push_str(&format!("<redacted:{key}>"));
                }
                rest = &v[len..];
            }
            _ => {
                out.push_str(&rest[..rest.len() - after_key.len()]);
                rest = after_key;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length in bytes of a JSON string body up to (not including) its closing quote, escapes
/// skipped; the whole text when it is never closed.
fn string_body_len(v: &str) -> usize {
    let mut escaped = false;
    for (i, c) in v.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i,
            _ => {}
        }
    }
    v.len()
}

/// config.json with every secret leaf replaced by `<redacted:path>` (empty values kept, so
/// "is it set" stays visible).
pub fn mask_config(config: &Value) -> Value {
    fn walk(v: &Value, path: &mut String) -> Value {
        if is_secret_path(path) {
            return mask_leaf(v, path);
        }
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, child)| {
                        let len = path.len();
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(k);
                        let out = walk(child, path);
                        path.truncate(len);
                        (k.clone(), out)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(config, &mut String::new())
}

fn mask_leaf(v: &Value, path: &str) -> Value {
    match v {
        Value::String(s) if s.is_empty() => v.clone(),
        Value::Null | Value::Bool(_) => v.clone(),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, c)| (k.clone(), mask_leaf(c, &format!("{path}.{k}"))))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|c| mask_leaf(c, path)).collect()),
        _ => Value::String(format!("<redacted:{path}>")),
    }
}

fn is_secret_path(path: &str) -> bool {
    SECRET_CONFIG_PATHS
        .iter()
        .any(|p| path == *p || (path.starts_with(p) && path.as_bytes().get(p.len()) == Some(&b'.')))
        // Per-worker tokens are secret-like too (§1.4).
        || (path.starts_with("workers.") && path.ends_with("token"))
}

fn collect_secret_leaves(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                collect_secret_leaves(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(a) => {
            for child in a {
                collect_secret_leaves(child, path, out);
            }
        }
        Value::String(s) if is_secret_path(path) => out.push((path.clone(), s.clone())),
        Value::Number(n) if is_secret_path(path) => out.push((path.clone(), n.to_string())),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_known_values_everywhere() {
        let mut r = Redactor::new();
        r.add("PROXY_AUTH_TOKEN", "s3cr3t-token-abc");
        let out = r.redact("curl -H 'Authorization: s3cr3t-token-abc' x");
        assert!(!out.contains("s3cr3t-token-abc"), "{out}");
        assert!(out.contains("<redacted:PROXY_AUTH_TOKEN>"));
        assert_eq!(r.leaks("s3cr3t-token-abc"), Some("PROXY_AUTH_TOKEN"));
        assert_eq!(r.leaks(&out), None);
    }

    #[test]
    fn short_and_placeholder_values_are_not_value_redacted() {
        let mut r = Redactor::new();
        r.add("DASHBOARD_ONION_ADDRESS", "placeholder");
        r.add("X", "ab");
        assert!(r.is_empty());
        assert_eq!(r.redact("a placeholder"), "a placeholder");
    }

    #[test]
    fn masks_secret_env_lines_by_key() {
        let text = "XVB_ENABLED=true\nPROXY_AUTH_TOKEN=minted-after-the-fact\nexport NTFY_TOKEN=zz";
        let out = Redactor::new().redact(text);
        assert_eq!(
            out,
            "XVB_ENABLED=true\nPROXY_AUTH_TOKEN=<redacted:PROXY_AUTH_TOKEN>\nexport NTFY_TOKEN=<redacted:NTFY_TOKEN>"
        );
    }

    #[test]
    fn masks_config_leaves_and_values_in_json() {
        let cfg = json!({
            "dashboard": {"auth": {"password": "hunter2hunter2", "user": "admin"}},
            "notifications": {"ntfy": {"url": "https://ntfy/x", "token": ""}},
            "p2pool": {"pool": "mini"},
            "note": "the password is hunter2hunter2"
        });
        let mut r = Redactor::new();
        r.add_config(&cfg);
        let out = r.redact_json(&cfg);
        let text = out.to_string();
        assert!(!text.contains("hunter2hunter2"), "{text}");
        assert!(!text.contains("https://ntfy/x"), "{text}");
        assert_eq!(out["dashboard"]["auth"]["user"], "admin");
        assert_eq!(out["notifications"]["ntfy"]["token"], "");
        assert_eq!(out["p2pool"]["pool"], "mini");
    }

    #[test]
    fn a_username_is_masked_at_its_place_only_and_a_password_everywhere() {
        let mut r = Redactor::new();
        r.add_env("MONERO_NODE_USERNAME=pithead\nMONERO_NODE_PASSWORD=n0de-pass-7c1e\n");
        r.add_config(
            &json!({"monero": {"node_username": "pithead", "node_password": "n0de-pass-7c1e"}}),
        );
        assert_eq!(r.len(), 1, "only the password is masked by value");
        let line = "[pithead] Parsing configuration... ./pithead apply";
        assert_eq!(r.redact(line), line);
        assert_eq!(
            r.redact("rpc-login=pithead:n0de-pass-7c1e"),
            "rpc-login=pithead:<redacted:MONERO_NODE_PASSWORD>"
        );
        assert_eq!(
            r.redact("MONERO_NODE_USERNAME=pithead\nDASHBOARD_TZ=UTC"),
            "MONERO_NODE_USERNAME=<redacted:MONERO_NODE_USERNAME>\nDASHBOARD_TZ=UTC"
        );
        assert_eq!(
            r.redact("{\"node_username\": \"pithead\", \"pool\": \"pithead\"}"),
            "{\"node_username\": \"<redacted:node_username>\", \"pool\": \"pithead\"}"
        );
        let masked =
            r.redact_json(&json!({"monero": {"node_username": "pithead"}, "note": "pithead"}));
        assert_eq!(
            masked["monero"]["node_username"],
            "<redacted:monero.node_username>"
        );
        assert_eq!(masked["note"], "pithead");
    }

    #[test]
    fn a_short_secret_is_masked_at_its_place_not_everywhere() {
        let mut r = Redactor::new();
        r.add("monero.node_password", "abc1234");
        assert!(r.is_empty(), "7 characters: too short to mask by value");
        assert_eq!(r.redact("abc1234 here"), "abc1234 here");
        assert_eq!(
            r.redact("MONERO_NODE_PASSWORD=abc1234"),
            "MONERO_NODE_PASSWORD=<redacted:MONERO_NODE_PASSWORD>"
        );
        assert_eq!(
            r.redact("  \"node_password\" :  \"abc1234\",\n  \"password\": \"\""),
            "  \"node_password\" :  \"<redacted:node_password>\",\n  \"password\": \"\""
        );
    }

    #[test]
    fn json_pairs_survive_escapes_and_stray_quotes() {
        let text =
            "He said \"hi\nthen {\"note\": \"a \\\"q\\\" b\", \"bot_token\": \"t\\\"k\", \"x\": 1}";
        assert_eq!(
            mask_json_pairs(text),
            "He said \"hi\nthen {\"note\": \"a \\\"q\\\" b\", \"bot_token\": \"<redacted:bot_token>\", \"x\": 1}"
        );
        assert_eq!(mask_json_pairs("no pairs \"here\""), "no pairs \"here\"");
        assert_eq!(
            mask_json_pairs("{\"password\": \"never closed"),
            "{\"password\": \"<redacted:password>"
        );
    }

    #[test]
    fn longer_secret_wins_over_its_substring() {
        let mut r = Redactor::new();
        r.add("A", "abcdefgh");
        r.add("B", "abcdefgh-ijkl");
        assert_eq!(r.redact("abcdefgh-ijkl"), "<redacted:B>");
    }

    #[test]
    fn parse_env_unquotes() {
        let env = parse_env("# c\nA=1\nB=\"x \\\"y\\\" $z\"\n\nbad line\nC='q'");
        assert_eq!(
            env,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x \"y\" $z".into()),
                ("C".into(), "q".into())
            ]
        );
    }
}
