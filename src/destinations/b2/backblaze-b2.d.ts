/** The parts of backblaze-b2 1.7 used here (the package ships no types). Every call resolves with the axios response. */
declare module 'backblaze-b2' {
  interface AxiosLikeResponse<T> {
    status: number;
    data: T;
    headers: Record<string, string>;
  }
  interface RequestExtras {
    /** Merged into the axios request where it does not conflict. */
    axios?: Record<string, unknown>;
    /** Merged into the axios request, overriding. */
    axiosOverride?: Record<string, unknown>;
  }
  class B2 {
    constructor(options: { applicationKeyId: string; applicationKey: string; axios?: Record<string, unknown>; retry?: Record<string, unknown> });
    authorizationToken: string | null;
    apiUrl: string | null;
    downloadUrl: string | null;
    authorize(args?: RequestExtras): Promise<AxiosLikeResponse<Record<string, unknown>>>;
    getBucket(args: { bucketName: string } & RequestExtras): Promise<AxiosLikeResponse<{ buckets: { bucketId: string; bucketName: string }[] }>>;
    getUploadUrl(args: { bucketId: string } & RequestExtras): Promise<AxiosLikeResponse<{ uploadUrl: string; authorizationToken: string }>>;
    uploadFile(
      args: { uploadUrl: string; uploadAuthToken: string; fileName: string; data: Buffer; hash?: string; mime?: string; contentLength?: number } & RequestExtras,
    ): Promise<AxiosLikeResponse<Record<string, unknown>>>;
    startLargeFile(args: { bucketId: string; fileName: string; contentType?: string } & RequestExtras): Promise<AxiosLikeResponse<{ fileId: string }>>;
    getUploadPartUrl(args: { fileId: string } & RequestExtras): Promise<AxiosLikeResponse<{ uploadUrl: string; authorizationToken: string }>>;
    uploadPart(
      args: { partNumber: number; uploadUrl: string; uploadAuthToken: string; data: Buffer; hash?: string; contentLength?: number } & RequestExtras,
    ): Promise<AxiosLikeResponse<Record<string, unknown>>>;
    finishLargeFile(args: { fileId: string; partSha1Array: string[] } & RequestExtras): Promise<AxiosLikeResponse<Record<string, unknown>>>;
    cancelLargeFile(args: { fileId: string } & RequestExtras): Promise<AxiosLikeResponse<Record<string, unknown>>>;
    listFileNames(
      args: { bucketId: string; startFileName?: string; maxFileCount?: number; prefix?: string; delimiter?: string } & RequestExtras,
    ): Promise<AxiosLikeResponse<{ files: B2FileInfo[]; nextFileName: string | null }>>;
    listFileVersions(
      args: { bucketId: string; startFileName?: string; startFileId?: string; maxFileCount?: number } & RequestExtras,
    ): Promise<AxiosLikeResponse<{ files: B2FileInfo[]; nextFileName: string | null; nextFileId: string | null }>>;
    downloadFileByName(args: { bucketName: string; fileName: string; responseType?: 'stream' | 'arraybuffer' } & RequestExtras): Promise<AxiosLikeResponse<unknown>>;
    deleteFileVersion(args: { fileId: string; fileName: string } & RequestExtras): Promise<AxiosLikeResponse<Record<string, unknown>>>;
  }
  interface B2FileInfo {
    fileId: string;
    fileName: string;
    action: 'upload' | 'start' | 'hide' | 'folder';
    contentLength: number;
    uploadTimestamp: number;
  }
  export = B2;
}
