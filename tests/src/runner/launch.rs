//! Turning a pod's plan into launches: its volumes made available, then each container's
//! environment, command line, mounts, working directory and user resolved.

use std::path::Path;

use super::Context;
use super::downward::PodFacts;
use super::error::Result;
use super::select::{Plan, Selected};
use super::spawn::{self, Launch};
use super::{env, volumes};

/// A container ready to start.
pub type Ready = (Selected, Launch);

/// The launches of `plan`'s `before` and `together` containers. Fails with a retryable error
/// while something the pod needs is not there yet.
pub async fn prepare(
    ctx: &Context,
    facts: &PodFacts<'_>,
    plan: &Plan,
    pod_dir: &Path,
) -> Result<(Vec<Ready>, Vec<Ready>)> {
    let volumes = volumes::prepare(ctx, facts, pod_dir).await?;
    let mut launches = Vec::new();
    for selected in plan.before.iter().chain(&plan.together) {
        let c = &selected.container;
        let user = spawn::user(facts.pod, c);
        let env = env::resolve(ctx, facts, c, user.is_none()).await?;
        let launch = Launch {
            command: env::command_line(ctx, c, &env)?,
            mounts: spawn::mounts(c, &volumes)?,
            working_dir: c
                .working_dir
                .clone()
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "/".into()),
            user,
            env,
        };
        launch.check_program_visible()?;
        launches.push((selected.clone(), launch));
    }
    let together = launches.split_off(plan.before.len());
    Ok((launches, together))
}
