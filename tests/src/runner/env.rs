//! A container's environment and command line, resolved as the kubelet resolves them: the
//! Kubernetes service variables, `envFrom`, `env` with `valueFrom` (downward API, ConfigMap
//! and Secret keys) and `$(VAR)` expansion in values, command and args.

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{ConfigMap, Container, Secret};
use kube::Api;

use super::Context;
use super::downward::{self, PodFacts};
use super::error::{Error, Result};

/// Where pods reach the apiserver: `KUBERNETES_SERVICE_HOST` / `_PORT`.
#[derive(Debug, Clone)]
pub struct ApiEndpoint {
    /// Host (an IP on loopback here).
    pub host: String,
    /// Port.
    pub port: u16,
}

/// Expands `$(NAME)` from `vars` like the kubelet: `$$` is a literal `$`, an unknown
/// `$(NAME)` stays as written.
pub fn expand(input: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match vars.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The variables every container gets before its own: PATH (this machine's, with the
/// runner's extra directories first), HOSTNAME, HOME and the `kubernetes` service's.
pub fn base(ctx: &Context, facts: &PodFacts<'_>, root: bool) -> Vec<(String, String)> {
    let system = std::env::var("PATH")
        .unwrap_or_else(|_| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    let path = ctx
        .settings
        .path_prepend
        .iter()
        .map(|p| p.display().to_string())
        .chain([system])
        .collect::<Vec<_>>()
        .join(":");
    let ApiEndpoint { host, port } = &ctx.api;
    let name = facts.pod.metadata.name.clone().unwrap_or_default();
    let url = format!("tcp://{host}:{port}");
    vec![
        ("PATH".into(), path),
        ("HOSTNAME".into(), name),
        ("HOME".into(), if root { "/root" } else { "/" }.into()),
        ("KUBERNETES_SERVICE_HOST".into(), host.clone()),
        ("KUBERNETES_SERVICE_PORT".into(), port.to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), port.to_string()),
        ("KUBERNETES_PORT".into(), url.clone()),
        (format!("KUBERNETES_PORT_{port}_TCP"), url),
    ]
}

/// The container's environment, in order, later entries winning.
pub async fn resolve(
    ctx: &Context,
    facts: &PodFacts<'_>,
    container: &Container,
    root: bool,
) -> Result<Vec<(String, String)>> {
    let ns = facts.pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut set = |vars: &mut BTreeMap<String, String>, k: String, v: String| {
        if vars.insert(k.clone(), v).is_none() {
            order.push(k);
        }
    };
    for (k, v) in base(ctx, facts, root) {
        set(&mut vars, k, v);
    }
    for from in container.env_from.as_deref().unwrap_or_default() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let data = if let Some(c) = &from.config_map_ref {
            config_map(ctx, ns, &c.name, c.optional.unwrap_or(false)).await?
        } else if let Some(s) = &from.secret_ref {
            secret(ctx, ns, &s.name, s.optional.unwrap_or(false)).await?
        } else {
            BTreeMap::new()
        };
        for (k, v) in data {
            set(&mut vars, format!("{prefix}{k}"), v);
        }
    }
    for env in container.env.as_deref().unwrap_or_default() {
        let value = match &env.value_from {
            None => expand(env.value.as_deref().unwrap_or_default(), &vars),
            Some(from) => {
                if let Some(f) = &from.field_ref {
                    downward::field(facts, f)?
                } else if let Some(r) = &from.resource_field_ref {
                    downward::resource(container, r)?
                } else if let Some(k) = &from.config_map_key_ref {
                    let optional = k.optional.unwrap_or(false);
                    let data = config_map(ctx, ns, &k.name, optional).await?;
                    match data.get(&k.key) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(Error::NotReady(format!(
                                "ConfigMap {ns}/{} has no key {}",
                                k.name, k.key
                            )));
                        }
                    }
                } else if let Some(k) = &from.secret_key_ref {
                    let optional = k.optional.unwrap_or(false);
                    let data = secret(ctx, ns, &k.name, optional).await?;
                    match data.get(&k.key) {
                        Some(v) => v.clone(),
                        None if optional => continue,
                        None => {
                            return Err(Error::NotReady(format!(
                                "Secret {ns}/{} has no key {}",
                                k.name, k.key
                            )));
                        }
                    }
                } else {
                    return Err(Error::Unsupported(format!("valueFrom of env {}", env.name)));
                }
            }
        };
        set(&mut vars, env.name.clone(), value);
    }
    Ok(order
        .into_iter()
        .filter_map(|k| vars.get(&k).map(|v| (k.clone(), v.clone())))
        .collect())
}

/// The command line: `command` + `args` with `$(VAR)` expanded. A container without a command
/// runs its image's entrypoint, which the runner cannot read from an image: it takes it from
/// its `--entrypoint NAME=PATH` table, keyed by the image's last path segment without tag.
pub fn command_line(
    ctx: &Context,
    container: &Container,
    env: &[(String, String)],
) -> Result<Vec<String>> {
    let vars: BTreeMap<String, String> = env.iter().cloned().collect();
    let mut line: Vec<String> = match container.command.as_deref() {
        Some(cmd) if !cmd.is_empty() => cmd.iter().map(|c| expand(c, &vars)).collect(),
        _ => {
            let image = container.image.as_deref().unwrap_or_default();
            let entry = entrypoint(&ctx.settings.entrypoints, image).ok_or_else(|| {
                Error::Unsupported(format!(
                    "container {} has no command and the runner has no --entrypoint for \
                     image {image:?}",
                    container.name
                ))
            })?;
            vec![entry.display().to_string()]
        }
    };
    line.extend(container.args.iter().flatten().map(|a| expand(a, &vars)));
    Ok(line)
}

/// The entrypoint for `image` (`registry/path/NAME:tag` or `...@digest` → NAME).
pub fn entrypoint<'a>(table: &'a BTreeMap<String, PathBuf>, image: &str) -> Option<&'a PathBuf> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let name = last.split(':').next().unwrap_or(last);
    table.get(name)
}

async fn config_map(
    ctx: &Context,
    ns: &str,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, String>> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    match api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading ConfigMap {ns}/{name}"), e))?
    {
        Some(cm) => Ok(cm.data.unwrap_or_default()),
        None if optional => Ok(BTreeMap::new()),
        None => Err(Error::NotReady(format!(
            "ConfigMap {ns}/{name} does not exist"
        ))),
    }
}

async fn secret(
    ctx: &Context,
    ns: &str,
    name: &str,
    optional: bool,
) -> Result<BTreeMap<String, String>> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    match api
        .get_opt(name)
        .await
        .map_err(|e| Error::kube(format!("reading Secret {ns}/{name}"), e))?
    {
        Some(s) => Ok(s
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
            .collect()),
        None if optional => Ok(BTreeMap::new()),
        None => Err(Error::NotReady(format!(
            "Secret {ns}/{name} does not exist"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("A", "1"), ("POD_NAME", "p")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn expansion_follows_the_kubelet() {
        assert_eq!(expand("x$(A)y", &vars()), "x1y");
        assert_eq!(expand("$(POD_NAME)/$(A)", &vars()), "p/1");
        assert_eq!(expand("$$(A)", &vars()), "$(A)");
        assert_eq!(expand("$(NOPE)", &vars()), "$(NOPE)");
        assert_eq!(expand("$POD_NAME", &vars()), "$POD_NAME");
        assert_eq!(expand("cost: 5$", &vars()), "cost: 5$");
        assert_eq!(expand("$(A", &vars()), "$(A");
    }

    #[test]
    fn entrypoints_are_found_by_image_name() {
        let table: BTreeMap<String, PathBuf> =
            [("ferry-sidecar".to_owned(), PathBuf::from("/bin/fs"))].into();
        for image in [
            "ghcr.io/ferry-dev/ferry-sidecar:0.1.0",
            "ferry-sidecar",
            "localhost:5000/ferry-sidecar@sha256:abc",
        ] {
            assert_eq!(
                entrypoint(&table, image),
                Some(&PathBuf::from("/bin/fs")),
                "{image}"
            );
        }
        assert_eq!(entrypoint(&table, "ghcr.io/other:1"), None);
    }
}
