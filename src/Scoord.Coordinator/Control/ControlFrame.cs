namespace Scoord.Coordinator.Control;

/// <summary>Frame types of the control protocol (docs/architecture.md, "Control socket"). Never renumber.</summary>
public enum ControlFrameType : byte
{
    /// <summary>Request: take a checkpoint. Payload: string name (empty: the default name).</summary>
    Checkpoint = 1,

    /// <summary>Request: is the coordinator there? Empty payload.</summary>
    Ping = 2,

    /// <summary>
    /// Request: run a program in this coordinator's application group. Payload: string, a JSON object
    /// {"program", "argv", "cwd", "env"} (<see cref="JoinRequest"/>). The coordinator answers
    /// <see cref="SendStdio"/>; the client then sends one byte carrying its fds 0, 1, 2 (SCM_RIGHTS).
    /// </summary>
    Join = 3,

    /// <summary>Request: the application group's applications and processes. Empty payload.</summary>
    Status = 4,

    /// <summary>Response: the checkpoint was taken. Payload: u32 id, u64 seq, string name.</summary>
    CheckpointTaken = 0x81,

    /// <summary>Response: the request failed. Payload: string message (one line).</summary>
    Error = 0x82,

    /// <summary>Response to <see cref="Ping"/>. Empty payload.</summary>
    Pong = 0x83,

    /// <summary>Response to <see cref="Join"/>: send the stdio fds now. Empty payload.</summary>
    SendStdio = 0x84,

    /// <summary>Response: the joined program runs. Payload: u32 application id, u64 pid (also its process group).</summary>
    Joined = 0x85,

    /// <summary>Response: the joined program's main process ended. Payload: u32 application id, u64 exit status (128+N: signal N).</summary>
    Exited = 0x86,

    /// <summary>Response to <see cref="Status"/>. Payload: string, a JSON object {"applications": [...], "processes": [...]}.</summary>
    StatusReport = 0x87,
}

/// <summary>
/// One decoded control frame. <see cref="Text"/> is the name (Checkpoint, CheckpointTaken), the
/// message (Error) or the JSON (Join, StatusReport); <see cref="Id"/>/<see cref="Seq"/> belong to
/// CheckpointTaken (id, seq), Joined (application id, pid) and Exited (application id, status).
/// </summary>
public readonly record struct ControlFrame(ControlFrameType Type, uint Id = 0, ulong Seq = 0, string? Text = null)
{
    public static ControlFrame CheckpointRequest(string? name) => new(ControlFrameType.Checkpoint, Text: name ?? string.Empty);

    public static ControlFrame Ping() => new(ControlFrameType.Ping);

    public static ControlFrame Pong() => new(ControlFrameType.Pong);

    public static ControlFrame Error(string message) => new(ControlFrameType.Error, Text: message);

    public static ControlFrame Taken(uint id, ulong seq, string name) => new(ControlFrameType.CheckpointTaken, id, seq, name);

    public static ControlFrame JoinRequest(string json) => new(ControlFrameType.Join, Text: json);

    public static ControlFrame StatusRequest() => new(ControlFrameType.Status);

    public static ControlFrame SendStdio() => new(ControlFrameType.SendStdio);

    public static ControlFrame Joined(uint appId, int pid) => new(ControlFrameType.Joined, appId, (ulong)pid);

    public static ControlFrame Exited(uint appId, int status) => new(ControlFrameType.Exited, appId, (ulong)status);

    public static ControlFrame StatusReport(string json) => new(ControlFrameType.StatusReport, Text: json);
}
