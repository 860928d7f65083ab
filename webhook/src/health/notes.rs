//! The text of the leader's Events and log lines: what happened and the fix. Pure.

use super::pods::PodFacts;

/// Event reasons the leader records.
pub mod reason {
    /// A labelled pod carries no `ferry.dev/injected` record.
    pub const NOT_INJECTED: &str = "NotInjected";
    /// Self-managed mode put the published caBundle back over another one.
    pub const CA_BUNDLE_REPAIRED: &str = "CABundleRepaired";
    /// A caBundle does not trust the serving certificate (cert-manager, provided).
    pub const CA_BUNDLE_UNTRUSTED: &str = "CABundleUntrusted";
}

/// The command that recreates `pod` so the webhook injects it: a rollout restart of the
/// workload that owns it, or deleting it for its owner to recreate.
pub fn recreate(pod: &PodFacts) -> String {
    let (ns, name) = (&pod.namespace, &pod.name);
    let owner = pod.owner.as_ref().map(|(k, n)| (k.as_str(), n.as_str()));
    match owner {
        Some(("ReplicaSet", rs)) => {
            let deployment = pod
                .template_hash
                .as_deref()
                .and_then(|hash| rs.strip_suffix(hash)?.strip_suffix('-'));
            match deployment {
                Some(d) => format!("kubectl -n {ns} rollout restart deployment/{d}"),
                None => format!("kubectl -n {ns} delete pod {name} (ReplicaSet {rs} recreates it)"),
            }
        }
        Some(("StatefulSet", set)) => format!("kubectl -n {ns} rollout restart statefulset/{set}"),
        Some(("DaemonSet", set)) => format!("kubectl -n {ns} rollout restart daemonset/{set}"),
        Some((kind, owner)) => {
            format!("kubectl -n {ns} delete pod {name} ({kind} {owner} recreates it)")
        }
        None => format!("kubectl -n {ns} delete pod {name}, then create it again"),
    }
}

/// The Event note on a pod the injection missed.
pub fn not_injected(pod: &PodFacts, configuration: &str) -> String {
    format!(
        "labelled ferry.dev/inject=true but created while the webhook was not called \
         (MutatingWebhookConfiguration {configuration} missing or not selecting the pod, or the \
         webhook down), so it runs without the ferry-sidecar and its volume is not replicated; \
         fix: recreate it now that the webhook is called: {}",
        recreate(pod)
    )
}

/// The Event note and log line when self-managed mode put its caBundle back.
pub fn repaired(kind: &str, configuration: &str, webhooks: &[String]) -> String {
    format!(
        "caBundle of {} in {kind} {configuration} held another CA than the webhook serves \
         with; the leader put its own back (self-managed certificates). Something else writes \
         it (a GitOps tool applying the configuration, or a second installation): make that \
         tool ignore caBundle",
        webhooks.join(", ")
    )
}

/// The Event note and log line when a caBundle the webhook does not manage stops trusting
/// its certificate.
pub fn untrusted(kind: &str, configuration: &str, webhooks: &[String]) -> String {
    format!(
        "caBundle of {} in {kind} {configuration} does not trust the webhook's serving \
         certificate: the apiserver cannot call the webhook, so labelled pods and Ferry's CRs \
         are refused; fix: cert-manager mode: check the cainjector and the annotation \
         cert-manager.io/inject-ca-from; provided mode: set certs.provided.caBundle to the CA \
         that signed the certificate Secret and run helm upgrade",
        webhooks.join(", ")
    )
}
