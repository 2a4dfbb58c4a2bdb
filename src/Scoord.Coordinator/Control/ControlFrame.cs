namespace Scoord.Coordinator.Control;

/// <summary>Frame types of the control protocol (docs/architecture.md, "Control socket"). Never renumber.</summary>
public enum ControlFrameType : byte
{
    /// <summary>Request: take a checkpoint. Payload: string name (empty: the default name).</summary>
    Checkpoint = 1,

    /// <summary>Request: is the coordinator there? Empty payload.</summary>
    Ping = 2,

    /// <summary>Response: the checkpoint was taken. Payload: u32 id, u64 seq, string name.</summary>
    CheckpointTaken = 0x81,

    /// <summary>Response: the request failed. Payload: string message (one line).</summary>
    Error = 0x82,

    /// <summary>Response to <see cref="Ping"/>. Empty payload.</summary>
    Pong = 0x83,
}

/// <summary>
/// One decoded control frame. <see cref="Text"/> is the name (Checkpoint, CheckpointTaken) or the
/// message (Error); <see cref="Id"/>/<see cref="Seq"/> belong to CheckpointTaken.
/// </summary>
public readonly record struct ControlFrame(ControlFrameType Type, uint Id = 0, ulong Seq = 0, string? Text = null)
{
    public static ControlFrame CheckpointRequest(string? name) => new(ControlFrameType.Checkpoint, Text: name ?? string.Empty);

    public static ControlFrame Ping() => new(ControlFrameType.Ping);

    public static ControlFrame Pong() => new(ControlFrameType.Pong);

    public static ControlFrame Error(string message) => new(ControlFrameType.Error, Text: message);

    public static ControlFrame Taken(uint id, ulong seq, string name) => new(ControlFrameType.CheckpointTaken, id, seq, name);
}
