//! cri-client: what kubelet asks of a container runtime, one CRI call per
//! run, over the runtime's unix socket; the response is printed on stdout as
//! JSON, with the CRI's own field names (enums as their numbers). A test
//! helper for tests/integration/cri.rs: it makes the calls and reports
//! them, and decides nothing; the test asserts.
//!
//! Its pods are host-network pods (no CNI is needed), so their hostname is
//! empty, as kubelet leaves it for a hostNetwork pod: runc refuses to set a
//! hostname without a UTS namespace of the pod's own.

use std::collections::HashMap;
use std::ffi::OsString;
use std::process::ExitCode;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ContainerConfig, ContainerMetadata, ContainerStatusRequest, CreateContainerRequest, ImageSpec,
    LinuxPodSandboxConfig, LinuxSandboxSecurityContext, ListContainersRequest, ListPodSandboxRequest, NamespaceMode,
    NamespaceOption, PodSandboxConfig, PodSandboxMetadata, RemoveContainerRequest, RemovePodSandboxRequest,
    RunPodSandboxRequest, StartContainerRequest, StopContainerRequest, StopPodSandboxRequest, VersionRequest,
};
use pico_args::Arguments;
use serde_json::{json, Value};
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};
use tower::service_fn;

const USAGE: &str = "usage: cri-client [--socket PATH] COMMAND
  version
  runp --name NAME --uid UID --namespace NS --log-dir DIR [--handler NAME]
       [--annotation KEY=VALUE]... [--cgroup-parent PATH]
        RunPodSandbox; prints {\"pod_sandbox_id\", \"config\"}
  create --pod ID --pod-config JSON --name NAME --image IMAGE [--log-path FILE] -- COMMAND...
        CreateContainer in pod ID; JSON is the pod's config as runp printed
        it (kubelet passes it again)
  start ID | status ID | stop ID [--timeout SECONDS] | rm ID    one container
  stopp ID | rmp ID                                             one pod
  pods | ps                                                     ListPodSandbox, ListContainers
--socket: the runtime's CRI socket (default: /run/containerd/containerd.sock,
kubelet's default endpoint)";

const DEFAULT_SOCKET: &str = "/run/containerd/containerd.sock";

type Client = RuntimeServiceClient<Channel>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut argv: Vec<OsString> = std::env::args_os().skip(1).collect();
    // After `--`: the container's command, words pico-args must not see.
    let command = match argv.iter().position(|a| a == "--") {
        Some(i) => argv.split_off(i).into_iter().skip(1).map(|a| a.to_string_lossy().into_owned()).collect(),
        None => Vec::new(),
    };
    match run(Arguments::from_vec(argv), command).await {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cri-client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut args: Arguments, command: Vec<String>) -> Result<Value, String> {
    let socket = args.opt_value_from_str("--socket").map_err(arg)?.unwrap_or_else(|| DEFAULT_SOCKET.to_owned());
    let sub = args.subcommand().map_err(arg)?.ok_or(USAGE)?;
    if sub != "create" && !command.is_empty() {
        return Err(format!("{sub} takes no command after --\n{USAGE}"));
    }
    let c = &mut connect(&socket).await?;
    match sub.as_str() {
        "create" => create(args, command, c).await,
        "version" => {
            finish(args)?;
            response("Version", c.version(VersionRequest { version: "v1".into() }).await)
        }
        "runp" => runp(args, c).await,
        "start" => {
            let container_id = id(args)?;
            response("StartContainer", c.start_container(StartContainerRequest { container_id }).await)
        }
        "status" => {
            let container_id = id(args)?;
            let r = c.container_status(ContainerStatusRequest { container_id, verbose: false });
            response("ContainerStatus", r.await)
        }
        "stop" => {
            let timeout = args.opt_value_from_str("--timeout").map_err(arg)?.unwrap_or(10);
            let container_id = id(args)?;
            let r = c.stop_container(StopContainerRequest { container_id, timeout });
            response("StopContainer", r.await)
        }
        "rm" => {
            let container_id = id(args)?;
            let r = c.remove_container(RemoveContainerRequest { container_id });
            response("RemoveContainer", r.await)
        }
        "stopp" => {
            let pod_sandbox_id = id(args)?;
            let r = c.stop_pod_sandbox(StopPodSandboxRequest { pod_sandbox_id });
            response("StopPodSandbox", r.await)
        }
        "rmp" => {
            let pod_sandbox_id = id(args)?;
            let r = c.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id });
            response("RemovePodSandbox", r.await)
        }
        "pods" => {
            finish(args)?;
            let r = c.list_pod_sandbox(ListPodSandboxRequest { filter: None }).await;
            response("ListPodSandbox", r)
        }
        "ps" => {
            finish(args)?;
            let r = c.list_containers(ListContainersRequest { filter: None }).await;
            response("ListContainers", r)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}

/// RunPodSandbox, as kubelet makes it for a host-network pod.
async fn runp(mut args: Arguments, c: &mut Client) -> Result<Value, String> {
    let name: String = args.value_from_str("--name").map_err(arg)?;
    let uid: String = args.value_from_str("--uid").map_err(arg)?;
    let namespace: String = args.value_from_str("--namespace").map_err(arg)?;
    let log_directory: String = args.value_from_str("--log-dir").map_err(arg)?;
    let runtime_handler: String = args.opt_value_from_str("--handler").map_err(arg)?.unwrap_or_default();
    let annotations = annotations(&mut args)?;
    let cgroup_parent: String = args.opt_value_from_str("--cgroup-parent").map_err(arg)?.unwrap_or_default();
    finish(args)?;
    let config = PodSandboxConfig {
        metadata: Some(PodSandboxMetadata { name, uid, namespace, attempt: 0 }),
        hostname: String::new(),
        log_directory,
        annotations,
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent,
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(NamespaceOption { network: NamespaceMode::Node as i32, ..Default::default() }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let request = RunPodSandboxRequest { config: Some(config.clone()), runtime_handler };
    let pod = c.run_pod_sandbox(request).await.map_err(status("RunPodSandbox"))?.into_inner();
    Ok(json!({"pod_sandbox_id": pod.pod_sandbox_id, "config": config}))
}

/// CreateContainer of `command` in a pod, with the pod's config passed
/// again as kubelet does.
async fn create(mut args: Arguments, command: Vec<String>, c: &mut Client) -> Result<Value, String> {
    let pod_sandbox_id: String = args.value_from_str("--pod").map_err(arg)?;
    let pod_config: String = args.value_from_str("--pod-config").map_err(arg)?;
    let name: String = args.value_from_str("--name").map_err(arg)?;
    let image: String = args.value_from_str("--image").map_err(arg)?;
    let log_path: String = args.opt_value_from_str("--log-path").map_err(arg)?.unwrap_or_else(|| format!("{name}.log"));
    finish(args)?;
    if command.is_empty() {
        return Err(format!("create: no command after --\n{USAGE}"));
    }
    let sandbox_config: PodSandboxConfig = serde_json::from_str(&pod_config)
        .map_err(|e| format!("--pod-config: not a pod's config as runp prints it: {e}"))?;
    let config = ContainerConfig {
        metadata: Some(ContainerMetadata { name, attempt: 0 }),
        image: Some(ImageSpec { image, ..Default::default() }),
        command,
        log_path,
        ..Default::default()
    };
    let request = CreateContainerRequest { pod_sandbox_id, config: Some(config), sandbox_config: Some(sandbox_config) };
    response("CreateContainer", c.create_container(request).await)
}

/// Dials the runtime's unix socket (the endpoint's URI is a placeholder the
/// connector ignores).
async fn connect(socket: &str) -> Result<Client, String> {
    let path = socket.to_owned();
    let endpoint = Endpoint::try_from("http://[::]:50051").map_err(|e| e.to_string())?;
    let channel = endpoint
        .connect_with_connector(service_fn(move |_: Uri| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .map_err(|e| format!("{socket}: {}", causes(&e)))?;
    Ok(RuntimeServiceClient::new(channel))
}

/// `--annotation KEY=VALUE`, repeatable.
fn annotations(args: &mut Arguments) -> Result<HashMap<String, String>, String> {
    let pairs: Vec<String> = args.values_from_str("--annotation").map_err(arg)?;
    pairs
        .into_iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => Ok((k.to_owned(), v.to_owned())),
            None => Err(format!("--annotation {p:?}: not KEY=VALUE")),
        })
        .collect()
}

/// The one free argument: a container's or a pod's id.
fn id(mut args: Arguments) -> Result<String, String> {
    let id = args.free_from_str().map_err(|_| format!("an id is missing\n{USAGE}"))?;
    finish(args)?;
    Ok(id)
}

fn finish(args: Arguments) -> Result<(), String> {
    let rest = args.finish();
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected arguments {rest:?}\n{USAGE}"))
    }
}

fn response<T: serde::Serialize>(call: &str, r: Result<tonic::Response<T>, tonic::Status>) -> Result<Value, String> {
    serde_json::to_value(r.map_err(status(call))?.into_inner()).map_err(|e| format!("{call}: {e}"))
}

fn status(call: &str) -> impl FnOnce(tonic::Status) -> String + '_ {
    move |s| format!("{call}: {:?}: {}", s.code(), s.message())
}

/// An error and its causes, which tonic's transport error leaves out of its
/// own message ("transport error").
fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    let mut last = String::new();
    while let Some(s) = source {
        // A wrapper may repeat its cause's message.
        let message = s.to_string();
        if message != last {
            text.push_str(": ");
            text.push_str(&message);
        }
        last = message;
        source = s.source();
    }
    text
}

fn arg(e: pico_args::Error) -> String {
    format!("{e}\n{USAGE}")
}
