//! kubectl's preferences file, kuberc (`~/.kube/kuberc`, or `KUBERC`; `KUBERC=off` or
//! `KUBECTL_KUBERC=false` turn it off), as far as it decides which exec credential plugins
//! kubectl runs (kubectl 1.35, `credentialPluginPolicy` / `credentialPluginAllowlist`):
//! `AllowAll` (or unset) runs every plugin, `DenyAll` none, `Allowlist` those an entry names —
//! by basename (`name == plugin || LookPath(name) == LookPath(plugin)`) or by full path
//! (`name == plugin || name == LookPath(plugin)`). An empty or missing allowlist, or an entry
//! without a name, allows nothing.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use serde_json::Value;

use crate::yaml::document::Document;

/// The plugin policy a kuberc sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Policy {
    AllowAll,
    DenyAll,
    /// The names of the allowlist (entries without a name dropped: they allow nothing).
    Allowlist(Vec<String>),
}

/// A kuberc file that was read.
#[derive(Debug, Clone)]
pub(crate) struct Kuberc {
    pub(crate) path: PathBuf,
    pub(crate) policy: Policy,
    /// Whether the file has a `credentialPluginAllowlist` key already.
    pub(crate) has_allowlist: bool,
}

/// Where kubectl reads its kuberc from; `None` when it is turned off.
pub(crate) fn path() -> Option<PathBuf> {
    if std::env::var("KUBECTL_KUBERC").is_ok_and(|v| v.trim().eq_ignore_ascii_case("false")) {
        return None;
    }
    match std::env::var("KUBERC") {
        Ok(v) if v == "off" => None,
        Ok(v) if !v.trim().is_empty() => Some(crate::paths::expand_tilde(&v)),
        _ => Some(crate::paths::home().join(".kube").join("kuberc")),
    }
}

/// Reads the kuberc kubectl would read; `None` when there is none.
pub(crate) fn load() -> Result<Option<Kuberc>> {
    let Some(p) = path() else {
        return Ok(None);
    };
    match std::fs::read(&p) {
        Ok(data) => {
            let text =
                String::from_utf8(data).map_err(|_| anyhow!("{}: not valid UTF-8", p.display()))?;
            parse(&p, text).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow!("cannot read {}: {e}", p.display())),
    }
}

/// Parses a kuberc's text.
pub(crate) fn parse(path: &Path, text: String) -> Result<Kuberc> {
    let p = path.display();
    let doc = Document::parse(text).map_err(|e| anyhow!("{p}: {e}"))?;
    let v = match doc.root() {
        Some(r) => doc.to_json(r).map_err(|e| anyhow!("{p}: {e}"))?,
        None => Value::Null,
    };
    let get = |k: &str| v.get(k).filter(|x| !x.is_null());
    let has_allowlist = get("credentialPluginAllowlist").is_some();
    let names: Vec<String> = get("credentialPluginAllowlist")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str))
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let policy = match get("credentialPluginPolicy").and_then(Value::as_str) {
        None | Some("") | Some("AllowAll") => Policy::AllowAll,
        Some("DenyAll") => Policy::DenyAll,
        Some("Allowlist") => Policy::Allowlist(names),
        Some(other) => {
            return Err(anyhow!(
                "{p}: credentialPluginPolicy {other:?} is none of AllowAll, DenyAll, Allowlist"
            ))
        }
    };
    Ok(Kuberc {
        path: path.to_path_buf(),
        policy,
        has_allowlist,
    })
}

impl Policy {
    /// Whether kubectl runs the exec plugin `command`; `look_path` is `exec.LookPath` (the
    /// path a command name is found at, if any).
    pub(crate) fn allows(
        &self,
        command: &str,
        look_path: &dyn Fn(&str) -> Option<PathBuf>,
    ) -> bool {
        match self {
            Policy::AllowAll => true,
            Policy::DenyAll => false,
            Policy::Allowlist(names) => names.iter().any(|name| {
                if name == command {
                    return true;
                }
                let plugin = look_path(command);
                if name.contains('/') {
                    plugin.is_some_and(|p| Path::new(name) == p)
                } else {
                    plugin.is_some() && look_path(name) == plugin
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(text: &str) -> Kuberc {
        parse(Path::new("kuberc"), text.to_owned()).unwrap()
    }

    #[test]
    fn policies_are_read_as_kubectl_reads_them() {
        assert_eq!(
            k("apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n").policy,
            Policy::AllowAll
        );
        assert_eq!(
            k("credentialPluginPolicy: DenyAll\n").policy,
            Policy::DenyAll
        );
        let a = k("credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: aws\n- {}\n- name: /usr/local/bin/kctx\n");
        assert_eq!(
            a.policy,
            Policy::Allowlist(vec!["aws".into(), "/usr/local/bin/kctx".into()])
        );
        assert!(a.has_allowlist);
        let none = k("credentialPluginPolicy: Allowlist\n");
        assert_eq!(none.policy, Policy::Allowlist(vec![]));
        assert!(!none.has_allowlist);
        assert!(parse(
            Path::new("kuberc"),
            "credentialPluginPolicy: Maybe\n".into()
        )
        .is_err());
        assert_eq!(k("").policy, Policy::AllowAll);
    }

    #[test]
    fn names_match_by_basename_or_full_path() {
        let look = |c: &str| -> Option<PathBuf> {
            match c {
                "kctx" => Some(PathBuf::from("/usr/local/bin/kctx")),
                "aws" => Some(PathBuf::from("/usr/bin/aws")),
                c if c.starts_with('/') => Some(PathBuf::from(c)),
                _ => None,
            }
        };
        let p = |names: &[&str]| Policy::Allowlist(names.iter().map(|s| s.to_string()).collect());
        assert!(p(&["kctx"]).allows("kctx", &look));
        assert!(p(&["kctx"]).allows("/usr/local/bin/kctx", &look));
        assert!(p(&["/usr/local/bin/kctx"]).allows("kctx", &look));
        assert!(!p(&["/opt/kctx"]).allows("kctx", &look));
        assert!(!p(&["aws"]).allows("kctx", &look));
        assert!(!p(&[]).allows("kctx", &look));
        // a name found nowhere matches only itself
        assert!(!p(&["nothere"]).allows("alsonothere", &look));
        assert!(p(&["nothere"]).allows("nothere", &look));
        assert!(!Policy::DenyAll.allows("kctx", &look));
        assert!(Policy::AllowAll.allows("anything", &look));
    }
}
