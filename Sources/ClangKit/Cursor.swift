import CClang

/// A node of libclang's AST. Value type; valid while its translation unit lives.
public struct Cursor: Hashable, @unchecked Sendable {
    let raw: CXCursor

    init(_ raw: CXCursor) { self.raw = raw }

    public static func == (a: Cursor, b: Cursor) -> Bool { clang_equalCursors(a.raw, b.raw) != 0 }
    public func hash(into hasher: inout Hasher) { hasher.combine(clang_hashCursor(raw)) }

    public var kind: CursorKind { CursorKind(clang_getCursorKind(raw)) }
    public var isNull: Bool { clang_Cursor_isNull(raw) != 0 }
    public var isValid: Bool { !isNull && clang_isInvalid(clang_getCursorKind(raw)) == 0 }
    /// The name of the entity (declaration name, referenced name for references).
    public var spelling: String { consume(clang_getCursorSpelling(raw)) }
    public var usr: String { consume(clang_getCursorUSR(raw)) }

    /// Where the cursor starts, as a file position (macro arguments map to where they are written).
    public var position: SourcePosition { SourcePosition(clang_getCursorLocation(raw)) }
    /// Where the cursor's code is written in the file being read: the macro use site for expanded code.
    public var expansionPosition: SourcePosition { SourcePosition(expansionOf: clang_getCursorLocation(raw)) }
    public var extent: SourceRange { SourceRange(clang_getCursorExtent(raw)) }
    /// Where the cursor's location is spelled: inside the macro definition for code a macro body
    /// produced (libclang's extents only ever give the macro use for such code).
    public var spellingPosition: SourcePosition { SourcePosition(spellingOf: clang_getCursorLocation(raw)) }
    public var isInMainFile: Bool { clang_Location_isFromMainFile(clang_getCursorLocation(raw)) != 0 }
    public var isInSystemHeader: Bool { clang_Location_isInSystemHeader(clang_getCursorLocation(raw)) != 0 }

    public var children: [Cursor] {
        var result: [Cursor] = []
        withUnsafeMutablePointer(to: &result) { pointer in
            _ = clang_visitChildren(raw, { child, _, data in
                data!.assumingMemoryBound(to: [Cursor].self).pointee.append(Cursor(child))
                return CXChildVisit_Continue
            }, pointer)
        }
        return result
    }

    /// The declaration a reference or expression names (null cursor when none).
    public var referenced: Cursor? {
        let target = Cursor(clang_getCursorReferenced(raw))
        return target.isValid ? target : nil
    }
    public var definition: Cursor? {
        let target = Cursor(clang_getCursorDefinition(raw))
        return target.isValid ? target : nil
    }
    public var semanticParent: Cursor? {
        let parent = Cursor(clang_getCursorSemanticParent(raw))
        return parent.isValid ? parent : nil
    }
    public var isDefinition: Bool { clang_isCursorDefinition(raw) != 0 }
    public var isStatic: Bool { clang_Cursor_getStorageClass(raw) == CX_SC_Static }
    public var isInlineFunction: Bool { clang_Cursor_isFunctionInlined(raw) != 0 }

    public var type: TypeInfo { TypeInfo(clang_getCursorType(raw)) }
    public var resultType: TypeInfo { TypeInfo(clang_getCursorResultType(raw)) }
    public var argumentCount: Int { Int(clang_Cursor_getNumArguments(raw)) }
    public func argument(_ index: Int) -> Cursor? {
        let arg = Cursor(clang_Cursor_getArgument(raw, UInt32(index)))
        return arg.isValid ? arg : nil
    }

    /// The integer value of a constant expression, when clang can evaluate it.
    public var integerValue: Int64? {
        guard kind.isExpression else { return nil }
        guard let result = clang_Cursor_Evaluate(raw) else { return nil }
        defer { clang_EvalResult_dispose(result) }
        guard clang_EvalResult_getKind(result) == CXEval_Int else { return nil }
        if clang_EvalResult_isUnsignedInt(result) != 0 {
            return Int64(truncatingIfNeeded: clang_EvalResult_getAsUnsigned(result))
        }
        return clang_EvalResult_getAsLongLong(result)
    }

    /// For a field: the name of the struct or union that declares it ("" for anonymous records).
    public var recordName: String? {
        guard kind == .fieldDecl, let parent = semanticParent else { return nil }
        let name = parent.spelling
        if name.isEmpty || name.contains("(unnamed") || name.contains("(anonymous") {
            // Anonymous member struct: name it after the enclosing named record.
            return parent.semanticParent.flatMap { $0.kind == .structDecl || $0.kind == .unionDecl ? $0.spelling : nil } ?? ""
        }
        return name
    }
}

/// A C type as libclang reports it.
public struct TypeInfo: @unchecked Sendable {
    let raw: CXType
    init(_ raw: CXType) { self.raw = raw }

    public var spelling: String { consume(clang_getTypeSpelling(raw)) }
    public var canonical: TypeInfo { TypeInfo(clang_getCanonicalType(raw)) }
    public var isValid: Bool { raw.kind != CXType_Invalid }
    public var isInteger: Bool {
        let k = canonical.raw.kind
        return (k.rawValue >= CXType_Bool.rawValue && k.rawValue <= CXType_Int128.rawValue) || k == CXType_Enum
    }
    public var isUnsignedInteger: Bool {
        switch canonical.raw.kind {
        case CXType_Bool, CXType_Char_U, CXType_UChar, CXType_UShort, CXType_UInt, CXType_ULong, CXType_ULongLong, CXType_UInt128:
            return true
        default: return false
        }
    }
    public var isPointer: Bool { canonical.raw.kind == CXType_Pointer }
    public var isVoid: Bool { canonical.raw.kind == CXType_Void }
    public var isRecord: Bool { canonical.raw.kind == CXType_Record }
    public var pointee: TypeInfo { TypeInfo(clang_getPointeeType(raw)) }
    /// The declaration of a record/enum/typedef type.
    public var declaration: Cursor? {
        let decl = Cursor(clang_getTypeDeclaration(raw))
        return decl.isValid ? decl : nil
    }
    /// The struct/union name behind this type, looking through pointers and typedefs.
    public var recordName: String? {
        var type = canonical
        while type.raw.kind == CXType_Pointer { type = type.pointee.canonical }
        guard type.raw.kind == CXType_Record, let decl = type.declaration else { return nil }
        return decl.spelling
    }
    public var resultType: TypeInfo { TypeInfo(clang_getResultType(raw)) }
}
