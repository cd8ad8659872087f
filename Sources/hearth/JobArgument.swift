import ArgumentParser
import HearthAPI

/// Jobs named on the command line as `hearth queue` shows them: `12`, or `12_7` for element 7 of
/// array 12 (Slurm's spelling), for every command that takes one job.
enum JobArgument {
    /// Parses an argument; the refusal says what a job looks like.
    static func parse(_ text: String) throws -> JobReference {
        guard let ref = JobReference(text) else {
            throw ValidationError("\"\(text)\" is not a job: write a job id (12) or an array element (12_7), as hearth queue shows them")
        }
        return ref
    }
}

extension Connection {
    /// The id of the job a reference names: an array element's own id is looked up in its array.
    func jobID(_ ref: JobReference) throws -> Int64 {
        guard let index = ref.arrayIndex else { return ref.id }
        return try call("GET", "/v1/arrays/\(ref.id)/\(index)", as: JobView.self).0.id
    }
}
