public enum Kwarden {
    public static let version = "0.1.0"
}
