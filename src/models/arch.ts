// The architecture fields the model builders read (OpenCLIP config names). A resolved ClipConfig satisfies it.
export interface VisionArch {
  image_size: number;
  layers: number | number[];
  width: number;
  patch_size?: number | null;
  head_width: number;
  mlp_ratio: number;
}

export interface TextArch {
  context_length: number;
  vocab_size: number;
  width: number;
  heads: number;
  layers: number;
  mlp_ratio?: number;
}

export interface ClipArch {
  embed_dim: number;
  vision_cfg: VisionArch;
  text_cfg: TextArch;
  quick_gelu?: boolean;
}

export const isResNet = (v: VisionArch): boolean => Array.isArray(v.layers);
