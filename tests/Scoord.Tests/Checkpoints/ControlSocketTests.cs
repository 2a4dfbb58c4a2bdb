using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Scoord.Coordinator.Control;
using Scoord.Journal;
using Scoord.Tests.Support;
using Scoord.Tests.Tracing;

namespace Scoord.Tests.Checkpoints;

/// <summary>The control socket: an in-process server with a test taker, and a real `scoord run`.</summary>
public sealed class ControlSocketTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private sealed class FakeTaker : ICheckpointTaker
    {
        private int _id;

        public List<string?> Names { get; } = [];

        public CheckpointInfo TakeCheckpoint(string? name)
        {
            lock (Names)
            {
                Names.Add(name);
                if (name == "taken")
                {
                    throw new JournalException("checkpoint name 'taken' is already taken");
                }

                int id = ++_id;
                return new CheckpointInfo(id, name ?? "ckpt-" + id, (ulong)(100 + id), 0, (ulong)id);
            }
        }

        public Task<CheckpointInfo> TakeCheckpointAsync(string? name) => Task.Run(() => TakeCheckpoint(name));
    }

    [Fact]
    public void Client_TakesCheckpoints_AndGetsErrorsAsOneLine()
    {
        using var dir = new TempTree();
        var taker = new FakeTaker();
        using (ControlServer server = ControlServer.Start(dir.Path, taker, NullLogger.Instance))
        {
            Assert.True(server.IsListening);
            Assert.Equal(dir.Combine("control.sock"), server.SocketPath);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(server.SocketPath));

            Assert.True(ControlClient.Ping(dir.Path, s_timeout));
            CheckpointInfo a = ControlClient.Checkpoint(dir.Path, null, s_timeout);
            Assert.Equal((1, "ckpt-1", 101UL), (a.Id, a.Name, a.Seq));
            CheckpointInfo b = ControlClient.Checkpoint(dir.Path, "named", s_timeout);
            Assert.Equal((2, "named"), (b.Id, b.Name));
            ScoordException e = Assert.Throws<ScoordException>(() => ControlClient.Checkpoint(dir.Path, "taken", s_timeout)); // an answer, not a lost coordinator
            Assert.Equal("checkpoint name 'taken' is already taken", e.Message);
            Assert.Equal([null, "named", "taken"], taker.Names);
        }

        Assert.False(File.Exists(dir.Combine("control.sock")));
        CoordinatorLostException gone = Assert.Throws<CoordinatorLostException>(() => ControlClient.Checkpoint(dir.Path, null, s_timeout));
        Assert.Contains("no coordinator is listening", gone.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadFrame_GetsAnError_AndTheConnectionIsClosed()
    {
        using var dir = new TempTree();
        using ControlServer server = ControlServer.Start(dir.Path, new FakeTaker(), NullLogger.Instance);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(server.SocketPath));
        socket.ReceiveTimeout = 10_000;
        socket.Send(Convert.FromHexString("0100000077"));
        byte[] buffer = new byte[4096];
        int total = 0;
        int n;
        while ((n = socket.Receive(buffer, total, buffer.Length - total, SocketFlags.None)) > 0)
        {
            total += n;
        }

        var sequence = new System.Buffers.ReadOnlySequence<byte>(buffer, 0, total);
        Assert.True(ControlFrameCodec.TryParse(ref sequence, out ControlFrame reply, out _));
        Assert.Equal(ControlFrameType.Error, reply.Type);
        Assert.Contains("unknown frame type", reply.Text, StringComparison.Ordinal);

        // The server is still there for the next client.
        Assert.True(ControlClient.Ping(dir.Path, s_timeout));
    }

    [Fact]
    public void StaleSocketFile_IsReplaced()
    {
        using var dir = new TempTree();
        string path = dir.Combine("control.sock");
        // What a SIGKILLed coordinator leaves behind. (.NET unlinks the file when a bound Socket is
        // disposed, so the leftover is made as a plain file: anything but a directory by that name in
        // the journal directory is stale while we hold the journal lock.)
        File.WriteAllText(path, string.Empty);

        Assert.True(File.Exists(path));
        using ControlServer server = ControlServer.Start(dir.Path, new FakeTaker(), NullLogger.Instance);
        Assert.True(server.IsListening);
        Assert.True(ControlClient.Ping(dir.Path, s_timeout));
    }

    [Fact]
    public void PeerCredentials_AreOurOwn()
    {
        using var dir = new TempTree();
        using ControlServer server = ControlServer.Start(dir.Path, new FakeTaker(), NullLogger.Instance);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(server.SocketPath));
        Assert.True(ControlSocket.TryGetPeerCredentials(socket, out int pid, out uint uid, out _));
        Assert.Equal(Environment.ProcessId, pid);
        Assert.Equal(ControlSocket.EffectiveUid, uid);
        Assert.True(ControlSocket.IsAllowed(uid, uid));
        Assert.True(ControlSocket.IsAllowed(0, 1000));
        Assert.False(ControlSocket.IsAllowed(1001, 1000));
    }

    /// <summary>
    /// A checkpoint of a running app through the coordinator's socket, from outside the app. Passes once
    /// the tracer's barrier implements <see cref="ICheckpointTaker"/> (until then the coordinator answers
    /// "not available yet").
    /// </summary>
    [Fact]
    public void RunningCoordinator_TakesACheckpointThroughItsSocket()
    {
        using var run = new TracedRun();
        using Process coordinator = StartRun(run, "sleep 2; echo after > after.txt");
        try
        {
            WaitForSocket(run.Journal, coordinator);
            CliResult r = run.Cli.Run("checkpoint", "--name", "live");
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Equal(["1"], r.StdoutLines);
        }
        finally
        {
            Assert.True(coordinator.WaitForExit(60_000));
        }

        Assert.Equal(0, coordinator.ExitCode);
        Assert.False(File.Exists(Path.Combine(run.Journal, "control.sock")));
        IReadOnlyList<LogLine> log = run.Log();
        LogLine ckpt = Assert.Single(log, l => l.Op == "checkpoint");
        Assert.Equal("live", ckpt.Path2);
        Assert.Contains(log, l => l.Path?.EndsWith("/after.txt", StringComparison.Ordinal) == true && l.Checkpoint == 1);
    }

    /// <summary>The same from inside the app: the traced shell runs `scoord checkpoint` itself.</summary>
    [Fact]
    public void CheckpointFromInsideTheApp_GoesThroughTheSocket()
    {
        using var run = new TracedRun();
        string scoord = ScoordCli.BinaryPath;
        string command = scoord.EndsWith(".dll", StringComparison.Ordinal) ? $"dotnet '{scoord}'" : $"'{scoord}'";
        CliResult r = run.Sh($"echo a > a.txt; {command} checkpoint --name inside > id.txt; echo b > b.txt");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("1", File.ReadAllText(run.Path("id.txt")).Trim());
        Assert.Contains(run.Log(), l => l.Op == "checkpoint" && l.Path2 == "inside");
    }

    [Fact]
    public void CheckpointEvery_TakesAutoCheckpointsWhileTheAppRuns()
    {
        using var run = new TracedRun();
        Assert.Equal(0, run.Sh("true").ExitCode);
        Assert.Equal(0, run.Cli.Run("checkpoint", "--name", "auto-1").ExitCode); // as if an earlier run took it
        CliResult r = run.Cli.Run("run", "--checkpoint-every", "300ms", "--", "sh", "-c", "sleep 1.5; echo x > x.txt");
        Assert.True(r.ExitCode == 0, r.ToString());
        CliResult list = run.Cli.Run("checkpoints", "--json");
        string[] names = [.. list.StdoutLines.Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("name").GetString()!)];
        Assert.True(names.Length >= 3, list.ToString());
        Assert.Equal(["auto-1", "auto-2", "auto-3"], names.Take(3));
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    private static Process StartRun(TracedRun run, string script) =>
        ScoordProcess.Start(run.Journal, run.Tree.Path, ["--journal", run.Journal, "run", "--", "sh", "-c", script], redirectOutput: false, redirectInput: true);

    private static void WaitForSocket(string journal, Process coordinator)
    {
        var clock = Stopwatch.StartNew();
        string path = Path.Combine(journal, "control.sock");
        while (!File.Exists(path))
        {
            Assert.False(coordinator.HasExited, "scoord run exited before its control socket appeared");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "no control socket after 30 s");
            Thread.Sleep(20);
        }
    }
}
