using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Scoord.Journal;

namespace Scoord.Coordinator.Control;

/// <summary>
/// Talks to a running coordinator through DIR/control.sock. Usable from outside the traced application
/// and from inside it (connecting changes no file). Every failure is a <see cref="ScoordException"/>
/// with a one-line message.
/// </summary>
public static class ControlClient
{
    /// <summary>Asks the coordinator for a checkpoint and waits for it (at most <paramref name="timeout"/>).</summary>
    public static CheckpointInfo Checkpoint(string journalDir, string? name, TimeSpan timeout)
    {
        ControlFrame response = Exchange(journalDir, ControlFrame.CheckpointRequest(name), timeout);
        return response.Type switch
        {
            ControlFrameType.CheckpointTaken when response.Id is > 0 and <= int.MaxValue =>
                new CheckpointInfo((int)response.Id, response.Text ?? string.Empty, response.Seq, 0, response.Id),
            ControlFrameType.Error => throw new ScoordException(response.Text ?? "the coordinator reported an error"),
            _ => throw new ScoordException($"unexpected answer from the coordinator ({response.Type})"),
        };
    }

    /// <summary>True if a coordinator answers on the control socket within <paramref name="timeout"/>.</summary>
    public static bool Ping(string journalDir, TimeSpan timeout)
    {
        try
        {
            return Exchange(journalDir, ControlFrame.Ping(), timeout).Type == ControlFrameType.Pong;
        }
        catch (ScoordException)
        {
            return false;
        }
    }

    /// <summary>Sends one request and reads one response frame.</summary>
    public static ControlFrame Exchange(string journalDir, ControlFrame request, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(journalDir);
        string path = ControlSocket.PathIn(journalDir);
        if (ControlSocket.CheckPathLength(path) is { } tooLong)
        {
            throw new ScoordException(tooLong);
        }

        byte[] encoded;
        try
        {
            encoded = ControlFrameCodec.Encode(request);
        }
        catch (ArgumentException e)
        {
            throw new ScoordException(e.Message);
        }

        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return ExchangeAsync(path, encoded, cts.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            throw new ScoordException($"the coordinator did not answer on {path} within {timeout.TotalSeconds:0.#} s");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new ScoordException($"not allowed to connect to {path}");
        }
        catch (SocketException e)
        {
            throw new CoordinatorLostException(e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused or SocketError.AddressNotAvailable => $"no coordinator is listening on {path}",
                _ => $"cannot talk to the coordinator on {path}: {e.Message}",
            });
        }
        catch (IOException e)
        {
            throw new CoordinatorLostException($"cannot talk to the coordinator on {path}: {e.Message}");
        }
    }

    private static async Task<ControlFrame> ExchangeAsync(string path, byte[] request, CancellationToken token)
    {
        if (!File.Exists(path))
        {
            throw new CoordinatorLostException($"no coordinator is listening on {path}");
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), token).ConfigureAwait(false);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        await stream.WriteAsync(request, token).ConfigureAwait(false);
        PipeReader reader = PipeReader.Create(stream);
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(token).ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (ControlFrameCodec.TryParse(ref buffer, out ControlFrame response, out string? error))
                {
                    reader.AdvanceTo(buffer.Start);
                    return response;
                }

                if (error is not null)
                {
                    throw new ScoordException($"bad answer from the coordinator on {path}: {error}");
                }

                if (result.IsCompleted)
                {
                    throw new CoordinatorLostException(
                        $"the coordinator closed {path} without answering (only its own user and root may connect)");
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }
}
