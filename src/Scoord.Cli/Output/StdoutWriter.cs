using System.Buffers;
using System.Text;

namespace Scoord.Cli.Output;

/// <summary>
/// Buffered UTF-8 output to a stream (stdout): `scoord log` may print millions of lines, so text and
/// JSON are encoded into one buffer that goes out in large writes, not a syscall per line. It is an
/// <see cref="IBufferWriter{T}"/> so a <see cref="System.Text.Json.Utf8JsonWriter"/> can write into it
/// directly. A reader that went away (EPIPE, `scoord log | head`) surfaces as <see cref="OutputClosedException"/>.
/// </summary>
internal sealed class StdoutWriter : IBufferWriter<byte>, IDisposable
{
    private const int FlushThreshold = 64 * 1024;
    private const int Epipe = 32;

    private readonly Stream _stream;
    private byte[] _buffer = new byte[FlushThreshold * 2];
    private int _count;

    public StdoutWriter(Stream stream)
    {
        _stream = stream;
    }

    public static StdoutWriter OpenStandardOutput() => new(Console.OpenStandardOutput());

    public void Write(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(text.AsSpan());
    }

    public void Write(ReadOnlySpan<char> text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> span = GetSpan(max);
        // Lone surrogates never reach here from path text (that goes through PathText escapes); if
        // one did, the UTF8 encoder replaces it rather than failing the whole output.
        int n = Encoding.UTF8.GetBytes(text, span);
        Advance(n);
    }

    public void WriteLine(string text)
    {
        Write(text);
        WriteLine();
    }

    public void WriteLine()
    {
        GetSpan(1)[0] = (byte)'\n';
        Advance(1);
        FlushIfFull();
    }

    public void Advance(int count)
    {
        _count += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_count);
    }

    public void FlushIfFull()
    {
        if (_count >= FlushThreshold)
        {
            Flush();
        }
    }

    public void Flush()
    {
        try
        {
            if (_count > 0)
            {
                _stream.Write(_buffer, 0, _count);
                _count = 0;
            }

            _stream.Flush();
        }
        catch (IOException e) when (IsBrokenPipe(e))
        {
            _count = 0;
            throw new OutputClosedException(e);
        }
    }

    public void Dispose()
    {
        // Output is flushed explicitly by the commands; Dispose only releases the stream.
        _stream.Dispose();
    }

    private void Ensure(int sizeHint)
    {
        int need = Math.Max(sizeHint, 256);
        if (_buffer.Length - _count < need)
        {
            if (_count > 0 && _count >= FlushThreshold)
            {
                Flush();
            }

            if (_buffer.Length - _count < need)
            {
                Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + need));
            }
        }
    }

    // .NET ignores SIGPIPE, so a closed pipe is an IOException whose HResult is the errno.
    private static bool IsBrokenPipe(IOException e) => e.HResult == Epipe || (e.HResult & 0xFFFF) == Epipe;
}

/// <summary>Whoever read stdout went away (EPIPE). Not an error: scoord stops quietly.</summary>
internal sealed class OutputClosedException : Exception
{
    public OutputClosedException()
    {
    }

    public OutputClosedException(string message)
        : base(message)
    {
    }

    public OutputClosedException(Exception innerException)
        : base("standard output was closed", innerException)
    {
    }

    public OutputClosedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
