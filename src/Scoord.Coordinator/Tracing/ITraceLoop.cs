namespace Scoord.Coordinator.Tracing;

/// <summary>What the checkpoint barrier needs of the trace loop: it waits for stops itself, and hands held stops back.</summary>
internal interface ITraceLoop
{
    /// <summary>Handles one stop reported by waitpid, as the loop does.</summary>
    void HandleStop(int tid, int status);

    /// <summary>Decodes a seccomp stop that was held undecoded (it is journaled after the checkpoint record).</summary>
    void DecodeSeccomp(Tracee t);

    /// <summary>Decodes again the parked stops whose blocker is gone.</summary>
    void RetryParked();
}
