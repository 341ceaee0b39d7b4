import KumoModel

/// The server's own parts: store commit latency and failures, watch streams that fall behind.
public enum ControlPlaneChecks: HealthArea {
    public static let name = "control-plane"

    public static let definitions: [CheckDefinition] = [
        CheckDefinition(
            "STORE_COMMITS_SLOW", .warn, .store, title: "store commits are slow",
            runbook: Runbook(
                meaning: "The 99th percentile of recent store commits exceeds the threshold (an error at four times it): every write — binds, status reports, heartbeats — waits that long. The disk under the data directory is slow or saturated.",
                lookAlikes: [
                    "WATCH_STREAM_LAGGING: writes are fast but a reader falls behind.",
                    "Slow API answers with fast commits: CPU on the server (`kumo_api_request_duration_seconds`).",
                ],
                actions: ["Check the disk of --data-dir (`iostat`, other writers); `kumo state server` → store shows pending writes and WAL size."])),
        CheckDefinition(
            "STORE_COMMIT_FAILURES", .error, .store, title: "store commits fail",
            runbook: Runbook(
                meaning: "Recent store commits failed (a full disk, an I/O error, a read-only file system): writes answer 503.",
                lookAlikes: ["STORE_COMMITS_SLOW: commits succeed, slowly."],
                actions: ["The server log (kumo.store) has SQLite's error; free disk space under --data-dir."])),
        CheckDefinition(
            "WATCH_STREAM_LAGGING", .warn, .apiServer, title: "watch streams fall behind the store",
            runbook: Runbook(
                meaning: "Watch streams are many revisions behind the store's head and have not moved for a while: their readers see changes late (an agent programs stale endpoints, a controller acts on old state). A slow or stalled client, or a server too busy to send.",
                lookAlikes: ["STORE_COMMITS_SLOW: the head itself moves slowly."],
                actions: ["`kumo state server` → watchBroadcaster lists each stream's position; a stalled client is cut off and re-lists."])),
    ]

    public static func evaluate(_ s: HealthSnapshot) -> [Finding] {
        var out: [Finding] = []
        let f = s.server
        if f.recentCommits >= 5, f.commitP99Ms > s.options.slowCommitMs {
            out.append(
                finding(
                    "STORE_COMMITS_SLOW", severity: f.commitP99Ms > 4 * s.options.slowCommitMs ? .error : .warn,
                    summary: "store commits are slow: p99 \(fmt(f.commitP99Ms)) ms over the last \(f.recentCommits) commits (threshold \(fmt(s.options.slowCommitMs)) ms)",
                    count: whole(f.commitP99Ms),
                    evidence: [
                        Evidence("server store commits", "p99 \(fmt(f.commitP99Ms)) ms, max \(fmt(f.commitMaxMs)) ms, \(f.pendingWrites) pending")
                    ]))
        }
        if f.commitFailures > 0 {
            out.append(
                finding(
                    "STORE_COMMIT_FAILURES", summary: "\(f.commitFailures) store commit(s) failed recently", count: f.commitFailures,
                    evidence: [Evidence("kumo_store_commit_failures_total", "\(f.commitFailures) in the window")]))
        }
        let lagging = f.watchers.filter {
            $0.behindRevisions >= s.options.watchLagRevisions && $0.stalledSeconds >= s.options.watchStallSeconds
        }
        if !lagging.isEmpty {
            let worst = lagging.max { $0.behindRevisions < $1.behindRevisions }!
            out.append(
                finding(
                    "WATCH_STREAM_LAGGING",
                    summary: "\(lagging.count) watch stream(s) lag: the worst, \(worst.watcher) on \(worst.resource), is \(worst.behindRevisions) revisions behind, stalled \(whole(worst.stalledSeconds)) s",
                    count: lagging.count,
                    detail: lagging.prefix(10).map { "\($0.watcher) \($0.resource): \($0.behindRevisions) behind, \($0.queued) queued" },
                    evidence: lagging.prefix(3).map {
                        Evidence("watch stream \($0.watcher)", "behind \($0.behindRevisions) revisions, queued \($0.queued), stalled \(fmt($0.stalledSeconds)) s")
                    }))
        }
        return out
    }
}
