using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Scoord.Journal;
using static Scoord.Interceptors.Interop.Libc;

namespace Scoord.Coordinator.Control;

/// <summary>
/// The joining side of an application group: a `scoord run` that finds a coordinator running on its
/// journal asks it to run the program, hands over its stdin/stdout/stderr, forwards the signals its
/// terminal sends it (SIGINT, SIGQUIT, SIGHUP, SIGTERM) to the program's process group, and returns
/// the program's exit status.
/// </summary>
public static class JoinClient
{
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Thrown when the coordinator is finishing (its group has ended) or gone: the caller may run on its own.</summary>
    public sealed class GroupEndedException(string message) : ScoordException(message);

    /// <summary>Runs <paramref name="request"/> in the group of the coordinator on <paramref name="journalDir"/>; returns its exit status.</summary>
    public static int Run(string journalDir, JoinRequest request, Action<int, int>? joined = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(journalDir);
        ArgumentNullException.ThrowIfNull(request);
        string path = ControlSocket.PathIn(journalDir);
        if (ControlSocket.CheckPathLength(path) is { } tooLong)
        {
            throw new ScoordException(tooLong);
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException e)
        {
            throw new GroupEndedException($"no coordinator is listening on {path} ({e.SocketErrorCode})");
        }

        byte[] encoded;
        try
        {
            encoded = ControlFrameCodec.Encode(ControlFrame.JoinRequest(request.ToJson()));
        }
        catch (ArgumentException)
        {
            throw new ScoordException("the command line and environment are too large to hand to the running coordinator");
        }

        var reader = new FrameReader(socket, path);
        socket.Send(encoded);
        ControlFrame answer = reader.Next(s_answerTimeout);
        ThrowIfError(answer);
        Expect(answer, ControlFrameType.SendStdio);
        FdPassing.Send((int)socket.SafeHandle.DangerousGetHandle(), [0, 1, 2]);
        answer = reader.Next(s_answerTimeout);
        ThrowIfError(answer);
        Expect(answer, ControlFrameType.Joined);
        int pid = (int)answer.Seq;
        joined?.Invoke((int)answer.Id, pid);

        // The terminal's signals reach this process (its foreground process group): pass them on.
        PosixSignalRegistration[] forwards =
        [
            .. new[] { PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP, PosixSignal.SIGTERM }.Select(sig =>
                PosixSignalRegistration.Create(sig, c =>
                {
                    c.Cancel = true;
                    kill(-pid, NativeSignal(sig));
                })),
        ];
        try
        {
            answer = reader.Next(Timeout.InfiniteTimeSpan);
        }
        catch (GroupEndedException e)
        {
            // The program ran: never start it a second time.
            throw new ScoordException($"lost the coordinator while {request.Argv[0]} ran: {e.Message}");
        }
        finally
        {
            foreach (PosixSignalRegistration r in forwards)
            {
                r.Dispose();
            }
        }

        ThrowIfError(answer);
        Expect(answer, ControlFrameType.Exited);
        return (int)answer.Seq;
    }

    /// <summary>The group's applications and processes (JSON), or null when no coordinator answers.</summary>
    public static string? Status(string journalDir, TimeSpan timeout)
    {
        try
        {
            ControlFrame answer = ControlClient.Exchange(journalDir, ControlFrame.StatusRequest(), timeout);
            return answer.Type == ControlFrameType.StatusReport ? answer.Text : null;
        }
        catch (ScoordException)
        {
            return null;
        }
    }

    private static int NativeSignal(PosixSignal s) => s switch
    {
        PosixSignal.SIGINT => SIGINT,
        PosixSignal.SIGQUIT => SIGQUIT,
        PosixSignal.SIGHUP => SIGHUP,
        _ => SIGTERM,
    };

    private static void ThrowIfError(ControlFrame answer)
    {
        if (answer.Type == ControlFrameType.Error)
        {
            string text = answer.Text ?? "the coordinator refused";
            throw text == JoinRequest.GroupEndedMessage ? new GroupEndedException(text) : new ScoordException(text);
        }
    }

    private static void Expect(ControlFrame answer, ControlFrameType type)
    {
        if (answer.Type != type)
        {
            throw new ScoordException($"unexpected answer from the coordinator ({answer.Type}, expected {type})");
        }
    }

    /// <summary>Blocking reads of whole frames from the socket.</summary>
    private sealed class FrameReader(Socket socket, string path)
    {
        private byte[] _buffer = new byte[4096];
        private int _count;

        public ControlFrame Next(TimeSpan timeout)
        {
            while (true)
            {
                var sequence = new ReadOnlySequence<byte>(_buffer, 0, _count);
                if (ControlFrameCodec.TryParse(ref sequence, out ControlFrame frame, out string? error))
                {
                    int used = _count - (int)sequence.Length;
                    Buffer.BlockCopy(_buffer, used, _buffer, 0, _count - used);
                    _count -= used;
                    return frame;
                }

                if (error is not null)
                {
                    throw new ScoordException($"bad answer from the coordinator on {path}: {error}");
                }

                if (_count == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                socket.ReceiveTimeout = timeout == Timeout.InfiniteTimeSpan ? 0 : (int)timeout.TotalMilliseconds;
                int n;
                try
                {
                    n = socket.Receive(_buffer, _count, _buffer.Length - _count, SocketFlags.None);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    throw new ScoordException($"the coordinator did not answer on {path} within {timeout.TotalSeconds:0.#} s");
                }
                catch (SocketException e)
                {
                    throw new GroupEndedException($"lost the coordinator on {path}: {e.Message}");
                }

                if (n == 0)
                {
                    throw new GroupEndedException($"the coordinator closed {path} (it stopped, or only its own user and root may join)");
                }

                _count += n;
            }
        }
    }
}
