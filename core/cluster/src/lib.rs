//! Cluster membership compatible with Pekko clusters: joining, gossip, failure
//! detection, leader actions, split brain resolver and management HTTP.
