import Foundation
import KumoModel
import Logging
import Synchronization

extension ReplicaRunner {
    /// Readiness and liveness probes while the container runs. Readiness flips `status.ready`; a failed liveness
    /// probe kills the container, and the restart policy takes it from there.
    func startProbes() async {
        let replica = m.withLock { $0.replica }
        let probes: [(Probe, Bool)] = [replica.spec.readinessProbe.map { ($0, false) }, replica.spec.livenessProbe.map { ($0, true) }].compactMap { $0 }
        guard !probes.isEmpty, case .running(let pid, _) = state, let ip = replica.spec.network?.ip else { return }
        for (probe, liveness) in probes {
            Task {
                var failures = 0
                let period = Duration.seconds(probe.periodSeconds ?? 1)
                let threshold = probe.failureThreshold ?? 3
                try? await Task.sleep(for: .milliseconds(200))
                while !Task.isCancelled {
                    guard case .running(let current, _) = self.state, current == pid, self.stopRequested == nil else { return }
                    let (ok, detail) = await self.context.probes.check(probe, containerID: self.uid, ip: ip)
                    failures = ok ? 0 : failures + 1
                    if liveness {
                        if failures >= threshold {
                            self.logger.notice("liveness probe failed; killing", metadata: ["detail": "\(detail)"])
                            await self.context.api.event(
                                project: self.project, replica: self.name, reason: "Unhealthy",
                                message: "liveness probe failed \(failures) times: \(detail); killing the container",
                                warning: true)
                            await self.context.driver.signal(self.uid, SIGKILL)
                            return
                        }
                    } else {
                        let ready = ok || (failures < threshold && self.snapshot.ready)
                        // reported when readiness flips, and when a not-ready replica first gets its reason (a
                        // replica never Ready stays false→false: without this its status would never say why)
                        let changed = self.m.withLock { s -> Bool in
                            let reason = ready ? nil : "readiness probe: \(detail)"
                            let changed = s.ready != ready || (s.readyDetail == nil) != (reason == nil)
                            s.ready = ready
                            s.readyDetail = reason
                            return changed
                        }
                        if changed { self.report() }
                    }
                    try? await Task.sleep(for: period)
                }
            }
        }
    }
}
