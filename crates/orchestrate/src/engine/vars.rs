//! Template variables of a release (SPEC §2): what every template may use, filled in as the
//! release goes (run ids and artifact fields appear once a service's run succeeded).

use std::collections::{BTreeMap, BTreeSet};

use orchestrate_core::plan::{Plan, Service, Template, Vars};

/// The variables shared by every service, and the per-service ones derived on demand.
#[derive(Debug, Clone, Default)]
pub struct ReleaseVars {
    shared: Vars,
    /// Target version of each service in the release set.
    targets: BTreeMap<String, String>,
    /// Deployed version of each service before the release (registry), when known.
    deployed: BTreeMap<String, String>,
}

impl ReleaseVars {
    /// `environment`, `deployment_id`, `vars.*` and `versions.*` (target, else deployed).
    pub fn new(
        plan: &Plan,
        environment: &str,
        release_id: &str,
        targets: BTreeMap<String, String>,
        deployed: BTreeMap<String, String>,
    ) -> ReleaseVars {
        let mut shared = Vars::new();
        shared.insert("environment".into(), environment.to_owned());
        shared.insert("deployment_id".into(), release_id.to_owned());
        if let Some(env) = plan.environments.get(environment) {
            for (k, v) in &env.vars {
                shared.insert(format!("vars.{k}"), v.clone());
            }
        }
        for s in &plan.services {
            if let Some(v) = targets.get(&s.name).or_else(|| deployed.get(&s.name)) {
                shared.insert(format!("versions.{}", s.name), v.clone());
            }
        }
        ReleaseVars {
            shared,
            targets,
            deployed,
        }
    }

    /// `runs.<svc>.id|url` once the run is known.
    pub fn set_run(&mut self, service: &str, id: u64, url: &str) {
        self.shared
            .insert(format!("runs.{service}.id"), id.to_string());
        self.shared
            .insert(format!("runs.{service}.url"), url.to_owned());
    }

    /// `artifacts.<svc>.<artifact>.<field>` for each JSON field read from an artifact.
    pub fn set_artifact(
        &mut self,
        service: &str,
        artifact: &str,
        fields: &BTreeMap<String, String>,
    ) {
        for (field, value) in fields {
            self.shared.insert(
                format!("artifacts.{service}.{artifact}.{field}"),
                value.clone(),
            );
        }
    }

    /// The variables for `service`'s deploy: `version` its target, `previous_version` what is
    /// deployed now (empty when nothing is).
    pub fn for_deploy(&self, service: &str) -> Vars {
        let mut vars = self.shared.clone();
        let target = self.targets.get(service).cloned().unwrap_or_default();
        vars.insert("version".into(), target);
        vars.insert(
            "previous_version".into(),
            self.deployed.get(service).cloned().unwrap_or_default(),
        );
        vars
    }

    /// The variables for rolling `service` back to `previous`: a rollback workflow's own inputs
    /// see `version` as the target that is being undone, the deploy workflow reused as rollback
    /// sees `version` = `previous` (see [`rollback_inputs`]).
    pub fn for_rollback(&self, service: &str, previous: &str) -> Vars {
        let mut vars = self.for_deploy(service);
        vars.insert("previous_version".into(), previous.to_owned());
        vars
    }
}

/// Renders every template of `inputs`, naming the input that could not be rendered.
pub fn render_all(
    inputs: &BTreeMap<String, Template>,
    vars: &Vars,
) -> Result<BTreeMap<String, String>, String> {
    inputs
        .iter()
        .map(|(name, t)| {
            t.render(vars)
                .map(|v| (name.clone(), v))
                .map_err(|e| format!("input `{name}`: {e}"))
        })
        .collect()
}

/// The workflow and inputs of a rollback: the service's `rollback` workflow with its inputs,
/// else its deploy workflow with the rollback's inputs (when given) or its deploy inputs with
/// `version` set to the previous version.
pub fn rollback_inputs(
    service: &Service,
    vars: &ReleaseVars,
    previous: &str,
) -> Result<(Option<String>, BTreeMap<String, String>), String> {
    let rollback_vars = vars.for_rollback(&service.name, previous);
    match &service.rollback {
        Some(r) if r.workflow.is_some() || !r.inputs.is_empty() => {
            Ok((r.workflow.clone(), render_all(&r.inputs, &rollback_vars)?))
        }
        _ => {
            let mut deploy_vars = rollback_vars;
            deploy_vars.insert("version".into(), previous.to_owned());
            Ok((None, render_all(&service.inputs, &deploy_vars)?))
        }
    }
}

/// Every variable a template of the release would render without a value, checked before
/// anything is dispatched (SPEC §2): `versions.<svc>` of a service neither released nor
/// deployed, `runs.<svc>` / `artifacts.<svc>` of a service that does not run in this release,
/// `vars.<k>` the environment does not define. Each message names the service, the field
/// and the variable. Rollback templates count only for a service with a version to go back
/// to (without one, no rollback is rendered). What an artifact's JSON holds is only known
/// once it is downloaded, so artifact fields are not checked here.
pub fn unresolvable(
    plan: &Plan,
    environment: &str,
    members: &BTreeSet<String>,
    deployed: &BTreeMap<String, String>,
) -> Vec<String> {
    let env_vars = plan.environments.get(environment).map(|e| &e.vars);
    let why_not = |variable: &str| -> Option<String> {
        let segments: Vec<&str> = variable.split('.').collect();
        match segments.as_slice() {
            ["versions", svc] if !members.contains(*svc) && !deployed.contains_key(*svc) => {
                Some(format!(
                    "`{svc}` is not in the release and has no version deployed in `{environment}`"
                ))
            }
            ["runs" | "artifacts", svc, ..] if !members.contains(*svc) => Some(format!(
                "`{svc}` is not in the release, so it has no run in it"
            )),
            ["vars", key] if env_vars.is_none_or(|v| !v.contains_key(*key)) => Some(format!(
                "environment `{environment}` defines no variable `{key}`"
            )),
            _ => None,
        }
    };
    let mut problems = Vec::new();
    for service in plan.services.iter().filter(|s| members.contains(&s.name)) {
        for (field, template) in templates(service, deployed.contains_key(&service.name)) {
            for variable in template.variables() {
                if let Some(why) = why_not(variable) {
                    problems.push(format!(
                        "service `{}`, `{field}`: `{{{{ {variable} }}}}` has no value: {why}",
                        service.name
                    ));
                }
            }
        }
    }
    problems
}

/// `service`'s templates by field; its rollback's only when `rollback` (it has a version to go
/// back to).
fn templates(service: &Service, rollback: bool) -> Vec<(String, &Template)> {
    let mut out: Vec<(String, &Template)> = service
        .inputs
        .iter()
        .map(|(k, t)| (format!("inputs.{k}"), t))
        .collect();
    if let Some(h) = &service.health {
        out.push(("health.url".to_owned(), &h.url));
        out.extend(
            h.expect_json
                .iter()
                .map(|(k, t)| (format!("health.expect.json.{k}"), t)),
        );
    }
    if rollback && let Some(r) = &service.rollback {
        out.extend(
            r.inputs
                .iter()
                .map(|(k, t)| (format!("rollback.inputs.{k}"), t)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrate_core::plan::load;

    const PLAN: &str = "version: 1\nname: p\nenvironments: {staging: {vars: {api: https://x}}}\nservices:\n  api:\n    repo: a/b\n    workflow: d.yml\n    artifacts: [info]\n    inputs: {v: \"{{ version }}\", prev: \"{{ previous_version }}\", url: \"{{ vars.api }}\"}\n  web:\n    repo: a/c\n    workflow: w.yml\n    needs: [api]\n    inputs: {img: \"{{ artifacts.api.info.image }}\", run: \"{{ runs.api.id }}\", api: \"{{ versions.api }}\"}\n";

    #[test]
    fn deploy_vars_fill_in_as_the_release_goes() {
        let plan = load("p.yml", PLAN).expect("valid").plan;
        let targets = BTreeMap::from([
            ("api".to_owned(), "1.3.0".to_owned()),
            ("web".to_owned(), "2.0.0".to_owned()),
        ]);
        let deployed = BTreeMap::from([("api".to_owned(), "1.2.0".to_owned())]);
        let mut vars = ReleaseVars::new(&plan, "staging", "42", targets, deployed);
        let api = plan.service("api").expect("api");
        let rendered = render_all(&api.inputs, &vars.for_deploy("api")).expect("renders");
        assert_eq!(rendered["v"], "1.3.0");
        assert_eq!(rendered["prev"], "1.2.0");
        assert_eq!(rendered["url"], "https://x");
        let web = plan.service("web").expect("web");
        let err = render_all(&web.inputs, &vars.for_deploy("web")).expect_err("no artifact yet");
        assert!(err.contains("artifacts.api.info.image"), "{err}");
        vars.set_run("api", 7, "https://gh/run/7");
        vars.set_artifact(
            "api",
            "info",
            &BTreeMap::from([("image".to_owned(), "img:1.3.0".to_owned())]),
        );
        let rendered = render_all(&web.inputs, &vars.for_deploy("web")).expect("renders");
        assert_eq!(rendered["img"], "img:1.3.0");
        assert_eq!(rendered["run"], "7");
        assert_eq!(rendered["api"], "1.3.0");
    }

    #[test]
    fn a_rollback_without_its_own_workflow_redeploys_the_previous_version() {
        let plan = load("p.yml", PLAN).expect("valid").plan;
        let targets = BTreeMap::from([("api".to_owned(), "1.3.0".to_owned())]);
        let vars = ReleaseVars::new(&plan, "staging", "42", targets, BTreeMap::new());
        let api = plan.service("api").expect("api");
        let (workflow, inputs) = rollback_inputs(api, &vars, "1.2.0").expect("renders");
        assert_eq!(workflow, None);
        assert_eq!(inputs["v"], "1.2.0");
        assert_eq!(inputs["prev"], "1.2.0");
    }

    #[test]
    fn variables_nothing_will_provide_are_named_with_service_and_field() {
        let text = "version: 1\nname: p\nenvironments: {staging: {}}\nservices:\n  api: {repo: a/b, workflow: d.yml, artifacts: [info], inputs: {v: \"{{ version }}\"}}\n  web:\n    repo: a/c\n    workflow: w.yml\n    needs: [api]\n    inputs: {img: \"{{ artifacts.api.info.image }}\", api: \"{{ versions.api }}\", other: \"{{ versions.db }}\"}\n    rollback: {inputs: {v: \"{{ versions.db }}\"}}\n  db: {repo: a/d, workflow: d.yml, inputs: {v: \"{{ version }}\"}}\n";
        let plan = load("p.yml", text).expect("valid").plan;
        let members = BTreeSet::from(["web".to_owned()]);
        let deployed = BTreeMap::from([("api".to_owned(), "1.2.0".to_owned())]);
        let problems = unresolvable(&plan, "staging", &members, &deployed);
        assert_eq!(
            problems,
            [
                "service `web`, `inputs.img`: `{{ artifacts.api.info.image }}` has no value: `api` is not in the release, so it has no run in it",
                "service `web`, `inputs.other`: `{{ versions.db }}` has no value: `db` is not in the release and has no version deployed in `staging`",
            ],
            "web has nothing deployed: its rollback template is never rendered"
        );
        let all = BTreeSet::from(["web".to_owned(), "api".to_owned(), "db".to_owned()]);
        assert!(unresolvable(&plan, "staging", &all, &deployed).is_empty());
    }
}
