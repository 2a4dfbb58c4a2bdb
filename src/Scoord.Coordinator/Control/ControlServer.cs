using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Scoord.Journal;

namespace Scoord.Coordinator.Control;

/// <summary>
/// The coordinator's control socket, DIR/control.sock (AF_UNIX stream, mode 0600). Only the same uid
/// or root may connect (SO_PEERCRED); others are closed without a word. Requests are parsed with
/// System.IO.Pipelines and <see cref="ControlFrameCodec"/>; a bad frame is answered with Error and the
/// connection closed. Checkpoint requests go to the <see cref="ICheckpointTaker"/> one at a time, on a
/// server thread (never the tracer's). The accept loop runs on a thread of its own.
/// </summary>
public sealed partial class ControlServer : IDisposable
{
    /// <summary>A connection that sends no complete request for this long is closed.</summary>
    private static readonly TimeSpan s_idleTimeout = TimeSpan.FromSeconds(30);
    private const int MaxConnections = 64;

    private readonly Socket? _listener;
    private readonly string _path;
    private readonly ICheckpointTaker _taker;
    private readonly IApplicationGroup? _group;
    private readonly List<Task> _joins = [];
    private readonly ILogger _logger;
    private readonly uint _ownUid;
    private readonly Thread? _acceptThread;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _checkpointGate = new(1, 1);
    private readonly Lock _connectionsLock = new();
    private readonly HashSet<Socket> _connections = [];
    private readonly List<Task> _handlers = [];
    private bool _disposed;

    private ControlServer(Socket? listener, string path, ICheckpointTaker taker, IApplicationGroup? group, ILogger logger)
    {
        _listener = listener;
        _path = path;
        _taker = taker;
        _group = group;
        _logger = logger;
        _ownUid = ControlSocket.EffectiveUid;
        if (listener is not null)
        {
            _acceptThread = new Thread(AcceptLoop) { Name = "scoord-control", IsBackground = true };
            _acceptThread.Start();
        }
    }

    /// <summary>The socket's path (DIR/control.sock).</summary>
    public string SocketPath => _path;

    /// <summary>False when the socket could not be created (logged as a warning); the run goes on without it.</summary>
    public bool IsListening => _listener is not null;

    /// <summary>
    /// Listens on DIR/control.sock. The caller holds the journal lock (the coordinator), so a socket
    /// file already there was left by a coordinator that died: it is removed. If the socket cannot be
    /// created (path too long for sockaddr_un, a non-socket file in the way) the run continues without
    /// it and a warning says why.
    /// </summary>
    public static ControlServer Start(string journalDir, ICheckpointTaker taker, ILogger logger, IApplicationGroup? group = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(journalDir);
        ArgumentNullException.ThrowIfNull(taker);
        ArgumentNullException.ThrowIfNull(logger);
        string path = ControlSocket.PathIn(journalDir);
        if (ControlSocket.CheckPathLength(path) is { } tooLong)
        {
            LogNotListening(logger, tooLong);
            return new ControlServer(null, path, taker, group, logger);
        }

        if (JournalStore.IsCoordinatorRunning(journalDir, out int pid) && pid > 0 && pid != Environment.ProcessId)
        {
            throw new ScoordException($"journal {Path.GetFullPath(journalDir)} is in use by scoord (pid {pid})");
        }

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            RemoveStale(path, logger);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            // Before listen(): nobody can connect yet, so there is no window with a wider mode.
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            listener.Listen(16);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            LogNotListening(logger, $"cannot listen on {path}: {e.Message}");
            return new ControlServer(null, path, taker, group, logger);
        }

        LogListening(logger, path);
        return new ControlServer(listener, path, taker, group, logger);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        // A joined program's exit status is known before the coordinator stops: let its answer go out.
        Task[] joins;
        lock (_connectionsLock)
        {
            joins = [.. _joins];
        }

        Task.WaitAll(joins.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)).ToArray(), TimeSpan.FromSeconds(5));
        _stopping.Cancel();
        if (_listener is not null)
        {
            _listener.Dispose(); // wakes the blocking Accept
            _acceptThread!.Join();
            Task[] handlers;
            lock (_connectionsLock)
            {
                foreach (Socket s in _connections)
                {
                    s.Dispose();
                }

                handlers = [.. _handlers];
            }

            Task.WaitAll(handlers.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)).ToArray(), TimeSpan.FromSeconds(5));
            try
            {
                File.Delete(_path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogNotRemoved(_logger, _path, e.Message);
            }
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// Removes a control.sock left by a coordinator that died (SIGKILL leaves it behind). The journal
    /// directory belongs to scoord and the caller holds its lock, so anything by that name that is not a
    /// directory is stale; a directory makes the bind fail and is reported.
    /// </summary>
    private static void RemoveStale(string path, ILogger logger)
    {
        if (Directory.Exists(path) || (!File.Exists(path) && new FileInfo(path).LinkTarget is null))
        {
            return;
        }

        File.Delete(path);
        LogStaleRemoved(logger, path);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private void AcceptLoop()
    {
        CoordinatorPriority.RaiseCurrentThread(); // a checkpoint request's first hop
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = _listener!.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                LogAcceptFailed(_logger, e.Message);
                Thread.Sleep(50);
                continue;
            }

            if (!ControlSocket.TryGetPeerCredentials(client, out int pid, out uint uid, out _) || !ControlSocket.IsAllowed(uid, _ownUid))
            {
                LogRejected(_logger, pid, uid);
                _ = Task.Run(() => Refuse(client, uid));
                continue;
            }

            lock (_connectionsLock)
            {
                if (_connections.Count >= MaxConnections)
                {
                    LogTooMany(_logger, pid);
                    client.Dispose();
                    continue;
                }

                _connections.Add(client);
                _handlers.RemoveAll(t => t.IsCompleted);
                _handlers.Add(Task.Run(() => ServeAsync(client, pid)));
            }
        }
    }

    /// <summary>
    /// Tells a refused peer why in one Error frame, then reads (and ignores) what it sent until it hangs
    /// up or a second passes: closing a unix socket with unread data makes the peer's read fail with
    /// ECONNRESET before it could see the answer. Nothing the peer sends is parsed.
    /// </summary>
    private void Refuse(Socket client, uint uid)
    {
        try
        {
            client.SendTimeout = 1000;
            client.ReceiveTimeout = 1000;
            client.Send(ControlFrameCodec.Encode(ControlFrame.Error(
                $"refused: uid {uid} may not use this coordinator (only its own user, uid {_ownUid}, and root may connect)")));
            client.Shutdown(SocketShutdown.Send);
            byte[] sink = new byte[4096];
            var deadline = DateTime.UtcNow.AddSeconds(1);
            while (DateTime.UtcNow < deadline && client.Receive(sink) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // The peer went away or sent nothing: nothing more to tell it.
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task ServeAsync(Socket client, int peerPid)
    {
        CoordinatorPriority.RaiseCurrentThread(); // the pool's threads serve only this socket here
        try
        {
            await using var stream = new NetworkStream(client, ownsSocket: true);
            PipeReader reader = PipeReader.Create(stream);
            try
            {
                while (true)
                {
                    ReadResult result;
                    using (var idle = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token))
                    {
                        idle.CancelAfter(s_idleTimeout);
                        result = await reader.ReadAsync(idle.Token).ConfigureAwait(false);
                    }

                    ReadOnlySequence<byte> buffer = result.Buffer;
                    string? error;
                    while (ControlFrameCodec.TryParse(ref buffer, out ControlFrame request, out error))
                    {
                        if (request.Type == ControlFrameType.Join)
                        {
                            // The connection now belongs to the joined program until it exits.
                            reader.AdvanceTo(buffer.Start);
                            Task join = ServeJoinAsync(client, stream, request, peerPid);
                            lock (_connectionsLock)
                            {
                                _joins.RemoveAll(t => t.IsCompleted);
                                _joins.Add(join);
                            }

                            await join.ConfigureAwait(false);
                            return;
                        }

                        ControlFrame response = await HandleAsync(request, peerPid).ConfigureAwait(false);
                        await stream.WriteAsync(ControlFrameCodec.Encode(response), _stopping.Token).ConfigureAwait(false);
                    }

                    if (error is not null)
                    {
                        LogBadFrame(_logger, peerPid, error);
                        await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Error("bad request: " + error)), _stopping.Token).ConfigureAwait(false);
                        return;
                    }

                    reader.AdvanceTo(buffer.Start, buffer.End);
                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, idled out, or the server is stopping.
        }
        catch (Exception e)
        {
            LogHandlerFailed(_logger, e);
        }
        finally
        {
            lock (_connectionsLock)
            {
                _connections.Remove(client);
            }

            client.Dispose();
        }
    }

    private async Task<ControlFrame> HandleAsync(ControlFrame request, int peerPid)
    {
        switch (request.Type)
        {
            case ControlFrameType.Ping:
                return ControlFrame.Pong();
            case ControlFrameType.Checkpoint:
                string? name = string.IsNullOrEmpty(request.Text) ? null : request.Text;
                LogCheckpointRequested(_logger, peerPid, name ?? "(default)");
                await _checkpointGate.WaitAsync(_stopping.Token).ConfigureAwait(false);
                try
                {
                    // No thread waits meanwhile: each thread between the request and the barrier is one more wait for a core.
                    CheckpointInfo taken = await _taker.TakeCheckpointAsync(name).ConfigureAwait(false);
                    CoordinatorPriority.RaiseCurrentThread(); // the answer's way back
                    return ControlFrame.Taken((uint)taken.Id, taken.Seq, taken.Name);
                }
                catch (ScoordException e)
                {
                    return ControlFrame.Error(OneLine(e.Message));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogHandlerFailed(_logger, e);
                    return ControlFrame.Error($"internal error: {e.GetType().Name}: {OneLine(e.Message)}");
                }
                finally
                {
                    _checkpointGate.Release();
                }

            case ControlFrameType.Status when _group is not null:
                try
                {
                    string json = await Task.Factory.StartNew(_group.StatusJson, _stopping.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
                    return ControlFrame.StatusReport(json);
                }
                catch (ScoordException e)
                {
                    return ControlFrame.Error(OneLine(e.Message));
                }

            default:
                return ControlFrame.Error($"unexpected frame type {(byte)request.Type} from a client");
        }
    }

    /// <summary>
    /// A joining `scoord run`: SendStdio, receive its fds 0-2, start the program in the group, answer
    /// Joined, then Exited with its status. If the client goes away first (killed, its terminal
    /// closed), the program's process group gets SIGHUP, as when a terminal hangs up.
    /// </summary>
    private async Task ServeJoinAsync(Socket client, NetworkStream stream, ControlFrame request, int peerPid)
    {
        if (_group is null)
        {
            await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Error("this coordinator does not take joining programs")), _stopping.Token).ConfigureAwait(false);
            return;
        }

        JoinRequest? join = JoinRequest.TryParse(request.Text ?? string.Empty, out string? parseError);
        if (join is null)
        {
            LogBadFrame(_logger, peerPid, parseError!);
            await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Error("bad request: " + parseError)), _stopping.Token).ConfigureAwait(false);
            return;
        }

        await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.SendStdio()), _stopping.Token).ConfigureAwait(false);
        int[] stdio;
        JoinedApplication app;
        try
        {
            stdio = FdPassing.Receive((int)client.SafeHandle.DangerousGetHandle(), 3, 10_000);
        }
        catch (ScoordException e)
        {
            LogBadFrame(_logger, peerPid, e.Message);
            return;
        }

        try
        {
            LogJoinRequested(_logger, peerPid, join.Argv[0]);
            app = await Task.Factory.StartNew(() => _group.Join(join, stdio), _stopping.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default).ConfigureAwait(false);
        }
        catch (ScoordException e)
        {
            await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Error(OneLine(e.Message))), _stopping.Token).ConfigureAwait(false);
            return;
        }
        finally
        {
            foreach (int fd in stdio)
            {
                Scoord.Interceptors.Interop.Libc.close(fd); // the program has its own copies
            }
        }

        bool told;
        try
        {
            await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Joined((uint)app.Id, app.Pid)), _stopping.Token).ConfigureAwait(false);
            told = true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            told = false; // the client went away while the program started (killed right after it): a hang-up too
        }

        byte[] probe = new byte[1];
        Task<int> gone = told ? stream.ReadAsync(probe, 0, 1, _stopping.Token) : Task.FromResult(0);
        if (await Task.WhenAny(app.Exit, gone).ConfigureAwait(false) != app.Exit)
        {
            LogJoinerGone(_logger, app.Id, app.Pid);
            Scoord.Interceptors.Interop.Libc.kill(-app.Pid, Scoord.Interceptors.Interop.Libc.SIGHUP);
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await stream.WriteAsync(ControlFrameCodec.Encode(ControlFrame.Exited((uint)app.Id, app.Exit.Result)), timeout.Token).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "control socket: pid {Pid} joins the group with {Program}")]
    private static partial void LogJoinRequested(ILogger logger, int pid, string program);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "the scoord run of application {App} went away; SIGHUP to its process group {Pid}")]
    private static partial void LogJoinerGone(ILogger logger, int app, int pid);

    [LoggerMessage(EventId = 200, Level = LogLevel.Debug, Message = "control socket listening on {Path}")]
    private static partial void LogListening(ILogger logger, string path);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "no control socket ({Reason}); `scoord checkpoint` cannot reach this run")]
    private static partial void LogNotListening(ILogger logger, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "removed a stale control socket {Path}")]
    private static partial void LogStaleRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "control socket: refused a connection from pid {Pid} uid {Uid} (not our uid, not root)")]
    private static partial void LogRejected(ILogger logger, int pid, uint uid);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "control socket: too many connections; closed the one from pid {Pid}")]
    private static partial void LogTooMany(ILogger logger, int pid);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "control socket: bad request from pid {Pid}: {Error}")]
    private static partial void LogBadFrame(ILogger logger, int pid, string error);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "control socket: checkpoint requested by pid {Pid}, name {Name}")]
    private static partial void LogCheckpointRequested(ILogger logger, int pid, string name);

    [LoggerMessage(EventId = 207, Level = LogLevel.Error, Message = "control socket: request failed")]
    private static partial void LogHandlerFailed(ILogger logger, Exception e);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "control socket: accept failed: {Message}")]
    private static partial void LogAcceptFailed(ILogger logger, string message);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "could not remove the control socket {Path}: {Message}")]
    private static partial void LogNotRemoved(ILogger logger, string path, string message);
}
