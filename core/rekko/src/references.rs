//! The `reference.conf` files bundled by Rekko's crates, in classpath order.

/// Every bundled reference configuration as `(name, HOCON text)`; `load` layers them under the
/// user's application.conf as Lightbend config layers the `reference.conf` files of Pekko's jars.
pub fn bundled_references() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "rekko-actor/reference.conf",
            rekko_actor::settings::REFERENCE_CONF,
        ),
        ("rekko-remote/reference.conf", rekko_remote::REFERENCE_CONF),
        (
            "rekko-cluster/reference.conf",
            rekko_cluster::settings::REFERENCE_CONF,
        ),
        (
            "rekko-persistence/reference.conf",
            rekko_persistence::settings::REFERENCE_CONF,
        ),
    ]
}
