import Foundation
import KumoModel
import Testing

@testable import KumoAgent

/// The agent's own records are read with the strict parser and the tree decoder and written by the tree encoder
/// (issue 18): records an agent wrote with Foundation's JSONEncoder before (its key order, `\/` escapes) must be
/// re-adopted after an upgrade, and what is written now reads back.
@Suite struct AgentRecordFormatTests {
    func scratchDirectory() throws -> String {
        let dir = NSTemporaryDirectory() + "kumo-records-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func replicaRecordsWrittenBeforeStillLoad() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // JSONEncoder() as ReplicaRecord.save used it: declaration order, slashes escaped, nil fields left out
        let old =
            #"{"uid":"u-1","project":"p1","name":"web-0","containerID":"kumo-u-1","netns":"\/run\/netns\/kumo-u-1","#
            + #""hostVeth":"kv-u-1","ip":"10.1.0.5","restartCount":3,"startedAt":"2025-11-01T10:00:00.000Z","pid":4242}"#
        let older = #"{"uid":"u-2","project":"p1","name":"web-1","containerID":"kumo-u-2","netns":"n","hostVeth":"kv-u-2","restartCount":0}"#
        _ = FileManager.default.createFile(atPath: dir + "/u-1.json", contents: Data(old.utf8))
        _ = FileManager.default.createFile(atPath: dir + "/u-2.json", contents: Data(older.utf8))
        _ = FileManager.default.createFile(atPath: dir + "/u-3.json", contents: Data(#"{"uid":"u-3","#.utf8))
        let loaded = ReplicaRecord.loadAll(from: dir).sorted { $0.uid < $1.uid }
        #expect(loaded.map(\.uid) == ["u-1", "u-2"], "a damaged record is skipped, as before")
        #expect(
            loaded.first
                == ReplicaRecord(
                    uid: "u-1", project: "p1", name: "web-0", containerID: "kumo-u-1", netns: "/run/netns/kumo-u-1",
                    hostVeth: "kv-u-1", ip: "10.1.0.5", restartCount: 3, startedAt: "2025-11-01T10:00:00.000Z", pid: 4242))
        #expect(loaded.last?.ip == nil && loaded.last?.pid == nil)

        var record = try #require(loaded.first)
        record.restartCount = 4
        try record.save(in: dir)
        let saved = try #require(FileManager.default.contents(atPath: dir + "/u-1.json"))
        #expect(String(decoding: saved, as: UTF8.self).contains(#""netns":"/run/netns/kumo-u-1""#))
        #expect(ReplicaRecord.loadAll(from: dir).first { $0.uid == "u-1" } == record)
    }

    @Test func instanceRecordsWrittenBeforeStillLoad() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // JSONEncoder() with .sortedKeys as InstanceRecord.save used it; the first without qemuUser (before confinement)
        let unconfined = #"{"accel":"kvm","ip":"10.2.0.7","mac":"52:54:00:12:34:56","name":"vm-a","project":"p1","tap":"kt-1","uid":"i-1"}"#
        let confined =
            #"{"accel":"tcg","ip":"10.2.0.8","mac":"52:54:00:12:34:57","name":"vm-b","project":"p1","qemuUser":4294967295,"#
            + #""tap":"kt-2","uid":"i-2"}"#
        _ = FileManager.default.createFile(atPath: dir + "/a.json", contents: Data(unconfined.utf8))
        _ = FileManager.default.createFile(atPath: dir + "/b.json", contents: Data(confined.utf8))
        let a = try #require(InstanceRecord.load(dir + "/a.json"))
        #expect(
            a == InstanceRecord(
                uid: "i-1", project: "p1", name: "vm-a", tap: "kt-1", mac: "52:54:00:12:34:56", ip: "10.2.0.7", accel: "kvm",
                qemuUser: nil))
        let b = try #require(InstanceRecord.load(dir + "/b.json"))
        #expect(b.qemuUser == UInt32.max)
        b.save(dir + "/c.json")
        #expect(InstanceRecord.load(dir + "/c.json") == b)
        #expect(InstanceRecord.load(dir + "/missing.json") == nil)
    }
}
