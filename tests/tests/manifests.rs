//! The Swarm stack (contrib/swarm/stack.yml) and the Kubernetes manifests (contrib/k8s/)
//! run the same node: both parse (the manifests are plain YAML: parsing is rendering),
//! and each of `seed`, `node` and `miner` gets the same dotcoind settings (the `DOTCOIN_*`
//! environment the image's entrypoint turns into flags), the same RPC secret path, no
//! command of its own, the same default size, discovery by a DNS name listing every
//! member, and a health check and scrape port that match the dashboard's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_yaml::Value;

const SERVICES: [&str; 3] = ["seed", "node", "miner"];

fn root() -> PathBuf {
    dotcoin_functional_tests::workspace_root()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every document of a YAML file, merge keys (`<<: *anchor`) applied.
fn documents(path: &str) -> Vec<Value> {
    let text = read(path);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            let mut v = Value::deserialize(d).unwrap_or_else(|e| panic!("{path}: {e}"));
            v.apply_merge().unwrap_or_else(|e| panic!("{path}: {e}"));
            v
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `${VAR:-default}` as its default; stack variables are set per deployment.
fn default_of(value: &str) -> String {
    match value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) {
        Some(inner) => inner
            .split_once(":-")
            .map(|(_, d)| d.to_owned())
            .unwrap_or_else(|| panic!("{value}: a stack variable without a default")),
        None => value.to_owned(),
    }
}

/// The settings as dotcoind sees them: discovery names without the orchestrator's
/// spelling (`tasks.node` in Swarm, `node` in Kubernetes: both list every member).
fn normalise(env: BTreeMap<String, String>) -> BTreeMap<String, String> {
    env.into_iter()
        .map(|(k, v)| {
            let v = if k == "DOTCOIN_SEEDNODE" {
                v.split(',')
                    .map(|n| n.trim().trim_start_matches("tasks."))
                    .collect::<Vec<_>>()
                    .join(",")
            } else {
                v
            };
            (k, v)
        })
        .collect()
}

/// The settings contrib/docker/entrypoint.sh accepts (its `case` labels).
fn entrypoint_settings() -> Vec<String> {
    let script = read("contrib/docker/entrypoint.sh");
    let body = script
        .split("case $key in")
        .nth(1)
        .expect("the entrypoint's case over settings");
    body.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('*') && !l.starts_with('#'))
        .filter_map(|l| l.split_once(')').map(|(labels, _)| labels))
        .filter(|labels| {
            labels
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c == '|')
        })
        .flat_map(|labels| labels.split('|').map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

#[test]
fn swarm_stack_and_kubernetes_manifests_run_the_node_alike() {
    let stack = documents("contrib/swarm/stack.yml").remove(0);
    let k8s: Vec<Value> = ["secret.yaml", "services.yaml", "statefulsets.yaml"]
        .iter()
        .flat_map(|f| documents(&format!("contrib/k8s/{f}")))
        .collect();
    let of_kind = |kind: &str| -> Vec<&Value> {
        k8s.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .collect()
    };
    let named = |kind: &str, name: &str| -> &Value {
        of_kind(kind)
            .into_iter()
            .find(|d| d["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("contrib/k8s has no {kind} {name}"))
    };
    let accepted = entrypoint_settings();
    assert!(accepted.contains(&"seednode".to_owned()), "{accepted:?}");
    let prometheus = documents("contrib/swarm/prometheus.yml").remove(0);

    for service in SERVICES {
        let swarm = &stack["services"][service];
        assert!(swarm.is_mapping(), "stack.yml has no service {service}");
        let sts = named("StatefulSet", service);
        let pod = &sts["spec"]["template"];
        let containers = pod["spec"]["containers"].as_sequence().expect("containers");
        assert_eq!(containers.len(), 1, "{service}: one container");
        let c = &containers[0];

        // The same settings, every one of them one the entrypoint knows.
        let swarm_env: BTreeMap<String, String> = swarm["environment"]
            .as_mapping()
            .expect("stack environment")
            .iter()
            .map(|(k, v)| (s(k), default_of(&s(v))))
            .collect();
        let k8s_env: BTreeMap<String, String> = c["env"]
            .as_sequence()
            .expect("container env")
            .iter()
            .map(|e| (s(&e["name"]), s(&e["value"])))
            .collect();
        let (swarm_env, k8s_env) = (normalise(swarm_env), normalise(k8s_env));
        assert_eq!(swarm_env, k8s_env, "{service}: stack.yml vs contrib/k8s");
        for key in swarm_env.keys() {
            let setting = key
                .strip_prefix("DOTCOIN_")
                .unwrap_or_else(|| panic!("{service}: {key} is not a DOTCOIN_ setting"))
                .to_ascii_lowercase();
            assert!(
                accepted.contains(&setting),
                "{service}: {key} is not a setting contrib/docker/entrypoint.sh accepts"
            );
        }
        // Every member found through one DNS name per service, both ways.
        let seeds = &swarm_env["DOTCOIN_SEEDNODE"];
        for other in SERVICES {
            assert!(seeds.split(',').any(|n| n == other), "{service}: {seeds}");
        }
        // Nothing overrides the image's entrypoint, so the environment is all there is.
        for key in ["command", "entrypoint"] {
            assert!(swarm[key].is_null(), "{service}: stack.yml sets {key}");
        }
        for key in ["command", "args"] {
            assert!(c[key].is_null(), "{service}: contrib/k8s sets {key}");
        }
        // The rpcauth secret where DOTCOIN_RPCAUTH_FILE looks.
        let secret_file = &swarm_env["DOTCOIN_RPCAUTH_FILE"];
        assert_eq!(secret_file, "/run/secrets/rpcauth");
        assert_eq!(swarm["secrets"][0].as_str(), Some("rpcauth"), "{service}");
        let mount = c["volumeMounts"]
            .as_sequence()
            .expect("mounts")
            .iter()
            .find(|m| m["name"].as_str() == Some("rpcauth"))
            .expect("rpcauth mount");
        let volume = pod["spec"]["volumes"]
            .as_sequence()
            .expect("volumes")
            .iter()
            .find(|v| v["name"].as_str() == Some("rpcauth"))
            .expect("rpcauth volume");
        assert_eq!(
            format!(
                "{}/{}",
                s(&mount["mountPath"]),
                s(&volume["secret"]["items"][0]["path"])
            ),
            *secret_file
        );
        // Data on a volume of the pod's or task's own.
        assert!(
            sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"].as_str() == Some("data")
        );
        assert_eq!(
            s(&swarm["volumes"][0]["target"]),
            s(&c["volumeMounts"][0]["mountPath"])
        );
        // Health through dotcoin-cli (the image's check), scraping at the dashboard.
        for probe in ["readinessProbe", "livenessProbe"] {
            assert_eq!(
                c[probe]["exec"]["command"][0].as_str(),
                Some("dotcoin-healthcheck"),
                "{service} {probe}"
            );
        }
        let dashboard_port = swarm_env["DOTCOIN_DASHBOARD"]
            .rsplit(':')
            .next()
            .expect("port")
            .to_owned();
        let ann = &pod["metadata"]["annotations"];
        assert_eq!(s(&ann["prometheus.io/scrape"]), "true");
        assert_eq!(s(&ann["prometheus.io/port"]), dashboard_port);
        assert_eq!(s(&ann["prometheus.io/path"]), "/metrics");
        let job = prometheus["scrape_configs"]
            .as_sequence()
            .expect("scrape_configs")
            .iter()
            .find(|j| j["job_name"].as_str() == Some(service))
            .unwrap_or_else(|| panic!("prometheus.yml has no job {service}"));
        let sd = &job["dns_sd_configs"][0];
        assert_eq!(
            sd["names"][0].as_str(),
            Some(format!("tasks.{service}").as_str())
        );
        assert_eq!(s(&sd["port"]), dashboard_port);
        // Swarm: no virtual IP (IPVS), host-mode ports; Kubernetes: a headless Service.
        assert_eq!(swarm["deploy"]["endpoint_mode"].as_str(), Some("dnsrr"));
        // The published ports: the dashboard and the Esplora/REST API, in both.
        let esplora_port = swarm_env["DOTCOIN_ESPLORA"]
            .rsplit(':')
            .next()
            .expect("port")
            .to_owned();
        let mut published: Vec<String> = Vec::new();
        for port in swarm["ports"].as_sequence().expect("ports") {
            assert_eq!(port["mode"].as_str(), Some("host"), "{service}");
            published.push(s(&port["target"]));
        }
        assert_eq!(published, [dashboard_port.clone(), esplora_port.clone()]);
        let container_ports: Vec<String> = c["ports"]
            .as_sequence()
            .expect("container ports")
            .iter()
            .map(|p| s(&p["containerPort"]))
            .filter(|p| published.contains(p))
            .collect();
        assert_eq!(container_ports, published, "{service}");
        let svc = named("Service", service);
        assert_eq!(svc["spec"]["clusterIP"].as_str(), Some("None"));
        assert_eq!(
            svc["spec"]["publishNotReadyAddresses"].as_bool(),
            Some(true)
        );
        assert_eq!(svc["spec"]["selector"], pod["metadata"]["labels"]);
        assert_eq!(sts["spec"]["serviceName"].as_str(), Some(service));
        // The same default size.
        assert_eq!(
            default_of(&s(&swarm["deploy"]["replicas"])),
            s(&sts["spec"]["replicas"]),
            "{service} replicas"
        );
        // Resource limits on both.
        assert!(!swarm["deploy"]["resources"]["limits"]["memory"].is_null());
        assert!(!c["resources"]["limits"]["memory"].is_null());
    }
    // The example secret is a well-formed rpcauth line.
    let secret = named("Secret", "dotcoin-rpcauth");
    let line = s(&secret["stringData"]["rpcauth"]);
    let (user, rest) = line.split_once(':').expect("user:salt$hash");
    let (salt, hash) = rest.split_once('$').expect("salt$hash");
    assert!(!user.is_empty() && !salt.is_empty());
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{line}"
    );
}
