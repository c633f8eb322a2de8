//! Volume snapshots, kept off the volumes' hosts: every `snapshot_interval_ms` the control plane
//! asks each reachable host for the data version of each attached volume it holds.

use super::catalog::{HostStatus, Snapshot};
use super::control::Running;
use super::protocol::{HostReply, HostRequest};
use crate::ids::{HostId, SnapshotId, VolumeId};

/// Snapshots every attached volume on a reachable host, forever.
pub async fn run(running: Running) {
    let settings = running.control.settings;
    loop {
        running.node.sleep_ms(settings.snapshot_interval_ms).await;
        let volumes: Vec<(VolumeId, HostId)> = running.read(|catalog| {
            let attached = catalog.volumes.iter().filter(|(_, volume)| volume.machine.is_some());
            let reachable = attached.filter(|(_, volume)| catalog.host_status(volume.host) == HostStatus::Ok);
            reachable.map(|(id, volume)| (*id, volume.host)).collect()
        });
        for (volume, host) in volumes {
            if let Some(HostReply::DataVersion(data_version)) =
                running.call_host(host, HostRequest::Snapshot { volume }).await
            {
                running.control.catalog.commit(&running.node, |catalog| {
                    let id = SnapshotId(catalog.next_id());
                    let kept = catalog.snapshots.entry(volume).or_default();
                    kept.push(Snapshot { id, data_version });
                    let excess = kept.len().saturating_sub(settings.snapshots_kept);
                    kept.drain(..excess);
                });
            }
        }
    }
}
