using System.Runtime.CompilerServices;
using Scoord.Interceptors;

namespace Scoord.Coordinator.Faults;

/// <summary>
/// Reads <c>SCOORD_FAULT</c> once, at type initialisation, into a static readonly field: the JIT folds
/// <see cref="Armed"/> into a constant in tiered code, so an unarmed point costs nothing on the hot path.
/// </summary>
public static class FaultInjection
{
    /// <summary>The environment variable naming the armed point: <c>NAME</c>, <c>NAME@N</c>, or <c>NAME:SYSCALL@N</c> for points reached per syscall stop.</summary>
    public const string Variable = "SCOORD_FAULT";

    /// <summary>The names accepted in SCOORD_FAULT, in <see cref="FaultPoint"/> order (index 0 unused).</summary>
    public static ReadOnlySpan<string> Names => s_names;

    private static readonly string[] s_names =
    [
        "",
        "run-before-commit",
        "run-after-intent",
        "run-before-completion",
        "checkpoint-before-record",
        "checkpoint-after-record",
        "rollback-midway",
        "tracee-kill-before-completion",
        "drain-before-commit",
        "hook-after-intent",
        "hook-after-syscall",
        "decode-throw",
        "complete-throw",
    ];

    /// <summary>The armed point (<see cref="FaultPoint.None"/> when unset).</summary>
    public static readonly FaultPoint Armed = Parse(Environment.GetEnvironmentVariable(Variable), out s_countdown, out s_syscall);

    private static int s_countdown;

    // NAME:SYSCALL@N: only stops of that syscall count (the points reached per syscall stop).
    private static readonly string? s_syscall;

    /// <summary>
    /// A warning line when SCOORD_FAULT is set but names no point (a test that arms a misspelt point
    /// would otherwise pass without any fault); null otherwise.
    /// </summary>
    public static string? ConfigurationWarning()
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrEmpty(value) || Armed != FaultPoint.None)
        {
            return null;
        }

        return $"{Variable}={value} names no fault point (known: {string.Join(", ", s_names[1..])}); nothing is armed";
    }

    /// <summary>Kills scoord (SIGKILL, no cleanup) the N-th time <paramref name="point"/> is reached, if it is armed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(FaultPoint point)
    {
        if (Armed == point && point != FaultPoint.None)
        {
            HitArmed(point);
        }
    }

    /// <summary>For points whose effect is not a crash of scoord: true the N-th time the armed point is reached.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fires(FaultPoint point) => Armed == point && point != FaultPoint.None && CountDown();

    /// <summary>
    /// <see cref="Fires(FaultPoint)"/> for points reached per syscall stop: with <c>NAME:SYSCALL@N</c>, only stops of
    /// <paramref name="syscall"/> count, so a test can aim at one op of its program whatever its runtime does first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Fires(FaultPoint point, string syscall) =>
        Armed == point && point != FaultPoint.None && (s_syscall is null || string.Equals(s_syscall, syscall, StringComparison.Ordinal)) && CountDown();

    private static bool CountDown() => --s_countdown == 0;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe void HitArmed(FaultPoint point)
    {
        if (!CountDown())
        {
            return;
        }

        // One raw write (no Console: its locks and buffers must not matter at this point), then SIGKILL.
        byte[] line = System.Text.Encoding.UTF8.GetBytes($"scoord: fault point {s_names[(int)point]} reached: killing scoord (SIGKILL)\n");
        fixed (byte* p = line)
        {
            Interop.Libc.write(2, p, (nuint)line.Length);
        }

        Interop.Libc.kill(Environment.ProcessId, Interop.Libc.SIGKILL);
        Thread.Sleep(Timeout.Infinite);
    }

    private static FaultPoint Parse(string? value, out int count, out string? syscall)
    {
        count = 1;
        syscall = null;
        if (string.IsNullOrEmpty(value))
        {
            return FaultPoint.None;
        }

        int colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            int end = value.IndexOf('@', colon);
            syscall = end < 0 ? value[(colon + 1)..] : value[(colon + 1)..end];
            value = value.Remove(colon, (end < 0 ? value.Length : end) - colon);
        }

        string name = value;
        int at = value.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            name = value[..at];
            if (!int.TryParse(value.AsSpan(at + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count) || count < 1)
            {
                count = 1;
            }
        }

        for (int i = 1; i < s_names.Length; i++)
        {
            if (string.Equals(s_names[i], name, StringComparison.Ordinal))
            {
                return (FaultPoint)i;
            }
        }

        return FaultPoint.None;
    }
}
