//===- PrimitiveInterfaces.td - Primitives as the lowering sees them ------===//
//
// Every pattern primitive (a sattn op) is lowered through these interfaces,
// attached to the ops as external models by passes/primitives/ (one file per
// primitive): no pass switches over primitive kinds.
//
//===----------------------------------------------------------------------===//

#ifndef SATTN_PASSES_PRIMITIVEINTERFACES_TD
#define SATTN_PASSES_PRIMITIVEINTERFACES_TD

include "mlir/IR/OpBase.td"

def Sattn_KeySourcePrimitive : OpInterface<"KeySourcePrimitive"> {
  let cppNamespace = "::mlir::sattn";
  let description = [{
    A primitive as attention sees it: what it requires of the query tiles,
    and the key sources it adds to a tile. Every primitive implements it.
  }];
  let methods = [
    InterfaceMethod<[{
        What the primitive requires of the query tiles: the block size they
        must stay inside (0: none), aligned on absolute positions p(i) or on
        local row indices.
      }], "::mlir::sattn::TileConstraint", "getTileConstraint",
      (ins "const ::mlir::sattn::KernelRequest &":$request)>,
    InterfaceMethod<[{
        Appends the primitive's key sources, in visiting order.
      }], "void", "appendKeySources",
      (ins "const ::mlir::sattn::KernelRequest &":$request,
           "::mlir::sattn::KeySourceList &":$sources)>,
  ];
}

def Sattn_SelectionPrimitive : OpInterface<"SelectionPrimitive"> {
  let cppNamespace = "::mlir::sattn";
  let description = [{
    A dynamic primitive: its selection runs as a stage before attention and
    writes lists into the workspace that its key sources then read. Such a
    primitive comes after every static one in the schedule.
  }];
  let methods = [
    InterfaceMethod<[{
        Appends the selection's stages (launched in order, each over its
        own grid) to `stages`, as `#sattn.stage`s for primitive index
        `primitive`, named `function` or, for several, `function` with a
        suffix.
      }], "void", "planStages",
      (ins "const ::mlir::sattn::KernelRequest &":$request,
           "::llvm::StringRef":$function, "int64_t":$primitive,
           "::llvm::SmallVectorImpl<::mlir::sattn::StageAttr> &":$stages)>,
    InterfaceMethod<[{
        Adds the stage's workspace (elements per slot, as sizes over the
        call's batch and lengths) to `slots`; called for every stage.
      }], "void", "addWorkspace",
      (ins "const ::mlir::sattn::KernelRequest &":$request,
           "::mlir::sattn::StageAttr":$stage,
           "::mlir::sattn::WorkspaceSizes &":$slots)>,
    InterfaceMethod<[{
        Emits the stage as a kernel function. Errors name what the stage
        does not support.
      }], "::mlir::LogicalResult", "emitStage",
      (ins "::mlir::sattn::KernelBuilder &":$builder,
           "const ::mlir::sattn::KernelRequest &":$request,
           "::mlir::sattn::StageAttr":$stage)>,
    InterfaceMethod<[{
        The optional inputs the selection reads.
      }], "::mlir::sattn::RequiredInputs", "getRequiredInputs",
      (ins "const ::mlir::sattn::KernelRequest &":$request),
      /*methodBody=*/"", /*defaultImplementation=*/[{
        return ::mlir::sattn::RequiredInputs();
      }]>,
  ];
}

#endif // SATTN_PASSES_PRIMITIVEINTERFACES_TD
