/// Why a YAML text could not be read: libyaml's problem, or a rule of our document model
/// (duplicate key, unknown alias, unsupported tag), with where it happened.
public struct YAMLError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var mark: Mark
    public var problem: String

    public init(file: String = "", mark: Mark, problem: String) {
        self.file = file
        self.mark = mark
        self.problem = problem
    }

    public var description: String {
        let place = mark.source ?? file
        return place.isEmpty ? "\(mark): \(problem)" : "\(place):\(mark): \(problem)"
    }
}
