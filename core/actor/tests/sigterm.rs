//! SIGTERM runs coordinated shutdown (Pekko's `run-by-jvm-shutdown-hook`). Own test binary,
//! because the signal goes to the whole process.

use std::time::Duration;

use rekko_actor::{ActorSystem, ActorSystemSettings, Behaviors, Reason};

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_runs_coordinated_shutdown() {
    let settings = ActorSystemSettings::default();
    assert!(settings.coordinated_shutdown.run_by_jvm_shutdown_hook);
    let sys = ActorSystem::new(Behaviors::empty::<()>(), "Term", settings).expect("system");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    sys.coordinated_shutdown()
        .add_task("service-unbind", "record", move || {
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(());
            }
            async {}
        })
        .expect("phase exists");
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(std::process::id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(10), rx)
        .await
        .expect("task ran")
        .expect("sent");
    tokio::time::timeout(Duration::from_secs(10), sys.when_terminated())
        .await
        .expect("terminated");
    assert_eq!(
        sys.coordinated_shutdown().shutdown_reason(),
        Some(Reason::JvmExit)
    );
}
