using Scoord.Journal;

namespace Scoord.Coordinator.Control;

/// <summary>
/// Takes a checkpoint of the running application group (the tracer's barrier: no journaled operation in
/// flight, every call that would start one held, the record written and synced, then all resume). Called on a control
/// server thread or the <c>--checkpoint-every</c> timer, never on the tracer thread; blocks until the
/// checkpoint is taken. Throws <see cref="ScoordException"/> with a one-line message on failure.
/// </summary>
public interface ICheckpointTaker
{
    /// <param name="name">The name asked for; null or empty for the default <c>ckpt-ID</c>.</param>
    CheckpointInfo TakeCheckpoint(string? name);

    /// <summary>The same, without a thread blocked while the barrier runs (the control socket's requests).</summary>
    Task<CheckpointInfo> TakeCheckpointAsync(string? name);
}
