// EngineCore module
