import CClang

/// The libclang cursor kinds kwarden's rules reason about, by name. Anything else is `.other(raw)`.
public enum CursorKind: Hashable, Sendable {
    case structDecl, unionDecl, enumDecl, fieldDecl, enumConstantDecl, functionDecl, varDecl, parmDecl, typedefDecl
    case typeRef, memberRef, labelRef
    case unexposedExpr, declRefExpr, memberRefExpr, callExpr, integerLiteral, stringLiteral, characterLiteral
    case parenExpr, unaryOperator, arraySubscriptExpr, binaryOperator, compoundAssignOperator, conditionalOperator
    case cStyleCastExpr, compoundLiteralExpr, initListExpr, stmtExpr, unaryExpr
    case unexposedStmt, labelStmt, compoundStmt, caseStmt, defaultStmt, ifStmt, switchStmt, whileStmt, doStmt, forStmt
    case gotoStmt, indirectGotoStmt, continueStmt, breakStmt, returnStmt, asmStmt, nullStmt, declStmt
    case translationUnit, unexposedAttr, macroExpansion, macroDefinition, inclusionDirective
    case other(UInt32)

    init(_ raw: CXCursorKind) {
        switch raw {
        case CXCursor_StructDecl: self = .structDecl
        case CXCursor_UnionDecl: self = .unionDecl
        case CXCursor_EnumDecl: self = .enumDecl
        case CXCursor_FieldDecl: self = .fieldDecl
        case CXCursor_EnumConstantDecl: self = .enumConstantDecl
        case CXCursor_FunctionDecl: self = .functionDecl
        case CXCursor_VarDecl: self = .varDecl
        case CXCursor_ParmDecl: self = .parmDecl
        case CXCursor_TypedefDecl: self = .typedefDecl
        case CXCursor_TypeRef: self = .typeRef
        case CXCursor_MemberRef: self = .memberRef
        case CXCursor_LabelRef: self = .labelRef
        case CXCursor_UnexposedExpr: self = .unexposedExpr
        case CXCursor_DeclRefExpr: self = .declRefExpr
        case CXCursor_MemberRefExpr: self = .memberRefExpr
        case CXCursor_CallExpr: self = .callExpr
        case CXCursor_IntegerLiteral: self = .integerLiteral
        case CXCursor_StringLiteral: self = .stringLiteral
        case CXCursor_CharacterLiteral: self = .characterLiteral
        case CXCursor_ParenExpr: self = .parenExpr
        case CXCursor_UnaryOperator: self = .unaryOperator
        case CXCursor_ArraySubscriptExpr: self = .arraySubscriptExpr
        case CXCursor_BinaryOperator: self = .binaryOperator
        case CXCursor_CompoundAssignOperator: self = .compoundAssignOperator
        case CXCursor_ConditionalOperator: self = .conditionalOperator
        case CXCursor_CStyleCastExpr: self = .cStyleCastExpr
        case CXCursor_CompoundLiteralExpr: self = .compoundLiteralExpr
        case CXCursor_InitListExpr: self = .initListExpr
        case CXCursor_StmtExpr: self = .stmtExpr
        case CXCursor_UnaryExpr: self = .unaryExpr
        case CXCursor_UnexposedStmt: self = .unexposedStmt
        case CXCursor_LabelStmt: self = .labelStmt
        case CXCursor_CompoundStmt: self = .compoundStmt
        case CXCursor_CaseStmt: self = .caseStmt
        case CXCursor_DefaultStmt: self = .defaultStmt
        case CXCursor_IfStmt: self = .ifStmt
        case CXCursor_SwitchStmt: self = .switchStmt
        case CXCursor_WhileStmt: self = .whileStmt
        case CXCursor_DoStmt: self = .doStmt
        case CXCursor_ForStmt: self = .forStmt
        case CXCursor_GotoStmt: self = .gotoStmt
        case CXCursor_IndirectGotoStmt: self = .indirectGotoStmt
        case CXCursor_ContinueStmt: self = .continueStmt
        case CXCursor_BreakStmt: self = .breakStmt
        case CXCursor_ReturnStmt: self = .returnStmt
        case CXCursor_GCCAsmStmt: self = .asmStmt
        case CXCursor_NullStmt: self = .nullStmt
        case CXCursor_DeclStmt: self = .declStmt
        case CXCursor_TranslationUnit: self = .translationUnit
        case CXCursor_UnexposedAttr: self = .unexposedAttr
        case CXCursor_MacroExpansion: self = .macroExpansion
        case CXCursor_MacroDefinition: self = .macroDefinition
        case CXCursor_InclusionDirective: self = .inclusionDirective
        default: self = .other(raw.rawValue)
        }
    }

    public var isExpression: Bool {
        switch self {
        case .unexposedExpr, .declRefExpr, .memberRefExpr, .callExpr, .integerLiteral, .stringLiteral,
             .characterLiteral, .parenExpr, .unaryOperator, .arraySubscriptExpr, .binaryOperator,
             .compoundAssignOperator, .conditionalOperator, .cStyleCastExpr, .compoundLiteralExpr,
             .initListExpr, .stmtExpr, .unaryExpr:
            return true
        case .other(let raw): return raw >= 100 && raw < 200
        default: return false
        }
    }

    public var isLoop: Bool { self == .whileStmt || self == .doStmt || self == .forStmt }
}
