using System.Diagnostics;
using System.Text.Json;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>
/// `scoord checkpoint` whose coordinator dies during the request. A process killed with SIGKILL closes
/// its files one after the other as it exits: the client can see its connection closed while
/// DIR/scoord.lock is still held, and scoord.lock free while RocksDB's own LOCK is still held (CI saw
/// the first: `FaultPointTests` at checkpoint-before-record, "mid" missing). The dying coordinator is
/// played here by a python3 process (a stand-in: a real coordinator cannot be stopped half-way through
/// its exit) that holds both locks as scoord does, closes the connection without answering, and lets go
/// of the locks in that order with pauses in between.
/// </summary>
public sealed class DyingCoordinatorTests
{
    private const string StandIn = """
        import fcntl, os, socket, sys, time
        d = sys.argv[1]
        lock = os.open(os.path.join(d, "scoord.lock"), os.O_RDWR)
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.ftruncate(lock, 0)
        os.pwrite(lock, b"%d\n" % os.getpid(), 0)
        db = os.open(os.path.join(d, "db", "LOCK"), os.O_RDWR)
        fcntl.lockf(db, fcntl.LOCK_EX | fcntl.LOCK_NB)  # RocksDB's lock is a POSIX record lock
        path = os.path.join(d, "control.sock")
        if os.path.exists(path):
            os.unlink(path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        print("ready", flush=True)
        c, _ = s.accept()
        c.recv(4096)
        c.close()          # the connection goes first...
        time.sleep(0.4)
        os.close(lock)     # ...then scoord.lock...
        time.sleep(0.6)    # ...and RocksDB's LOCK when the process is gone
        """;

    [Fact]
    public void CoordinatorDyingDuringTheRequest_CheckpointWaitsForItToLetGo_AndTakesItItself()
    {
        using var t = new TracedRun();
        Assert.Equal(0, t.Sh("echo a > a").ExitCode);
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(StandIn);
        psi.ArgumentList.Add(Path.GetFullPath(t.Journal));
        using Process standIn = Process.Start(psi)!;
        try
        {
            Assert.Equal("ready", standIn.StandardOutput.ReadLine());

            CliResult ckpt = t.Cli.Run("checkpoint", "--name", "mid");
            Assert.True(ckpt.ExitCode == 0, ckpt.ToString());
            Assert.Empty(ckpt.Stderr);
            Assert.True(standIn.WaitForExit(5_000) && standIn.ExitCode == 0, "the stand-in did not end cleanly");

            CliResult list = t.Cli.Run("checkpoints", "--json");
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Equal(["mid"], list.StdoutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("name").GetString()));
            Assert.Equal(list.StdoutLines.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Assert.Single(ckpt.StdoutLines));
        }
        finally
        {
            if (!standIn.HasExited)
            {
                standIn.Kill();
            }
        }
    }
}
